"""Writes tests/fixtures/tokenizer_parity.json: ~200 real sentences and the ids that
transformers' AutoTokenizer gives them, for tests/tokenizer_parity.rs to compare exactly.

Usage (from the repository root, with the project venv):
    python crates/ft-data/tests/make_tokenizer_fixture.py [FT_HOME]
FT_HOME defaults to $FT_HOME or ~/.cache/ft; the tokenizer is models/minilm-l6, the texts come
from datasets/rotten-tomatoes and datasets/wnut16 plus hand-written hard cases (accents, emoji,
scripts, very long words, control characters, texts longer than 128 tokens).
"""
import bz2, csv, io, json, os, sys
import transformers
from transformers import AutoTokenizer

home = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FT_HOME") or os.path.expanduser("~/.cache/ft")
mdir = f"{home}/models/minilm-l6"
tok = AutoTokenizer.from_pretrained(mdir)
MAX = 128

rows = list(csv.DictReader(io.StringIO(
    bz2.open(f"{home}/datasets/rotten-tomatoes/rotten_tomatoes_corpus.csv.bz2").read().decode())))
reviews = [r for r in rows if r["category"] in ("fresh", "rotten")]
plots = [r for r in rows if r["category"] == "plot"]

hand = [
    "Café crème brûlée, naïve façade, résumé — Zoë's jalapeño piñata!",
    "Ångström, Øresund, Łódź, Škoda, Ærø, İstanbul, ß and ẞ, ﬁnancial ligature.",
    "Combining accents: e\u0301 a\u0300 n\u0303 o\u0308 versus é à ñ ö.",
    "This movie was 🔥🔥🔥 and I cried 😭😭 — 10/10 would watch again 👍🏽",
    "Family emoji 👨‍👩‍👧‍👦 and flags 🇫🇷🇯🇵 and keycaps 1️⃣ #️⃣",
    "Pneumonoultramicroscopicsilicovolcanoconiosis is a very long word indeed.",
    "Supercalifragilisticexpialidocious! Antidisestablishmentarianism? Floccinaucinihilipilification.",
    "A" * 99 + " and " + "b" * 100 + " and " + "c" * 101 + " end",
    "x" * 250,
    "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch is a village in Wales.",
    "日本語のテキストと中文文本，还有한국어 텍스트도 있습니다。",
    "Русский текст, ελληνικά, العربية, עברית, हिन्दी, ไทย.",
    "Tabs\tand\nnewlines\r\nand\u00a0non-breaking\u2003spaces\u200bzero-width.",
    "Control chars \u0000 \u0007 \ufffd and \u200d joiner.",
    "URLs like https://www.example.com/path?q=1&r=two#frag and emails a.b@c.org",
    "Numbers 3.14159, 1,000,000, -42, 1e-9, $19.99, 50% off, 24/7, 9:30pm.",
    "Special tokens written in text: [CLS] hello [SEP] world [MASK] [PAD] [UNK].",
    "lowercase [cls] and [sep] are not special",
    "MiXeD CaSe ShOuTiNg AND ALL CAPS SENTENCE!!!",
    "Punctuation!!! ??? ... --- ((( ))) [[[ ]]] {{{ }}} <<< >>> @@@ ### $$$ %%% ^^^ &&& ***",
    "Quotes “curly” ‘single’ «guillemets» „German“ and ‘apostrophe’s’.",
    "Fullwidth ＡＢＣ １２３ and math ∑∫∂√∞≠≤≥ and arrows ←→↑↓.",
    "",
    "   ",
    "a",
    "Hyphenated well-known state-of-the-art twenty-first-century mother-in-law.",
    "Contractions: don't, won't, can't, I'm, you're, it's, y'all'd've.",
    "Dates 2024-01-31T12:00:00Z and versions v1.2.3-rc.4+build.5.",
    "Emoji-only: 😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛😝😜🤪🤨🧐🤓😎🥸🤩🥳",
    "Old-school :-) ;-) :D <3 ^_^ ¯\\_(ツ)_/¯",
]
long_hand = [
    " ".join(["extraordinarily"] * 80),
    " ".join(f"word{i}" for i in range(200)),
]

single = []
step = max(1, len(reviews) // 150)
for r in reviews[::step][:160]:
    single.append(r["text"])
single += [p["text"] for p in plots[:8]]  # plot summaries: many longer than 128 tokens
single += hand + long_hand
enc = tok(single, truncation=True, max_length=MAX)
single_out = [{"text": t, "ids": ids} for t, ids in zip(single, enc["input_ids"])]

pairs = [(r["text"], r["movie_name"]) for r in reviews[1::97][:10]]
pairs.append((plots[0]["text"], plots[1]["text"]))  # both long: longest-first truncation
pairs.append(("short premise", plots[2]["text"]))
enc = tok([a for a, _ in pairs], [b for _, b in pairs], truncation=True, max_length=MAX)
pair_out = [{"a": a, "b": b, "ids": ids, "type_ids": tt}
            for (a, b), ids, tt in zip(pairs, enc["input_ids"], enc["token_type_ids"])]

sents, cur = [], []
for line in open(f"{home}/datasets/wnut16/ner.txt", encoding="utf-8"):
    line = line.rstrip("\n")
    if not line.strip():
        if cur: sents.append(cur); cur = []
        continue
    w, t = line.rsplit("\t", 1) if "\t" in line else line.rsplit(" ", 1)
    cur.append((w, t))
if cur: sents.append(cur)
picked = sents[::150][:20]
longest = max(sents, key=len)
picked.append(longest * 3)  # over 128 tokens: labels of truncated words disappear
labels = sorted({t for s in sents for _, t in s})
l2i = {l: i for i, l in enumerate(labels)}
e = tok([[w for w, _ in s] for s in picked], is_split_into_words=True, truncation=True, max_length=MAX)
word_out = []
for i, s in enumerate(picked):
    prev, labs = None, []
    wids = e.word_ids(i)
    for wid in wids:  # transformers' token-classification example, label_all_tokens=False
        labs.append(-100 if wid is None or wid == prev else l2i[s[wid][1]]); prev = wid
    word_out.append({"words": [w for w, _ in s], "tags": [t for _, t in s],
                     "ids": e["input_ids"][i], "word_ids": wids, "labels": labs})

win_texts = [plots[3]["text"], plots[4]["text"], long_hand[1]]
win_out = []
for t in win_texts:
    w = tok(t, truncation=True, max_length=64, stride=16, return_overflowing_tokens=True)
    win_out.append({"text": t, "windows": w["input_ids"]})

out = {
    "generator": f"transformers {transformers.__version__} AutoTokenizer({os.path.basename(mdir)})",
    "max_length": MAX,
    "single": single_out,
    "pairs": pair_out,
    "words": {"labels": labels, "sentences": word_out},
    "windows": {"max_length": 64, "stride": 16, "texts": win_out},
}
dst = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "tokenizer_parity.json")
with open(dst, "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
n_trunc = sum(len(x["ids"]) == MAX for x in single_out)
print(f"wrote {dst}: {len(single_out)} single ({n_trunc} at max_length), {len(pair_out)} pairs, "
      f"{len(word_out)} word lists, {len(win_out)} windowed texts")
