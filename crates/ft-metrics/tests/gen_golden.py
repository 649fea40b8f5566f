"""Writes golden.json: inputs and the values scikit-learn, seqeval and scipy give for them.

Run from the repository root with the project venv:

    .venv/bin/python crates/ft-metrics/tests/gen_golden.py

The output is deterministic (fixed seeds, sorted keys), so a rerun on an
unchanged script leaves golden.json byte-identical. Undefined values (NaN,
infinities) are written as null: the Rust side must report them as undefined
(`None`), not as a number.
"""

import importlib.metadata
import json
import math
import os
import warnings

import numpy as np
import scipy
import sklearn
from scipy import stats
from seqeval.metrics import sequence_labeling as sl
from seqeval.metrics import v1 as seqeval_v1
from seqeval.scheme import IOB2, IOBES
from sklearn import metrics as skm

# Warnings about zero division are exactly the cases we want to record.
warnings.filterwarnings("ignore")

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json")


def num(x):
    """A float for JSON, or None where the reference library says undefined."""
    x = float(x)
    return x if math.isfinite(x) else None


def rounded(a, digits=4):
    return [round(float(v), digits) for v in a]


# ---------------------------------------------------------------- classification


def classification_case(name, refs, preds=None, probs=None, num_classes=None,
                        zero_division=0, pos_label=None, top_k=()):
    refs = np.asarray(refs, dtype=np.int64)
    if probs is not None:
        probs = np.asarray(probs, dtype=np.float64)
        preds = probs.argmax(axis=1)
    preds = np.asarray(preds, dtype=np.int64)
    c = num_classes
    present = sorted(set(refs.tolist()) | set(preds.tolist()))
    exp = {"accuracy": num(skm.accuracy_score(refs, preds))}
    for avg in ("micro", "macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            refs, preds, average=avg, zero_division=zero_division)
        exp[avg] = {"precision": num(p), "recall": num(r), "f1": num(f)}
    p, r, f, s = skm.precision_recall_fscore_support(
        refs, preds, average=None, zero_division=zero_division)
    exp["per_class"] = {
        "labels": present,
        "precision": [num(v) for v in p],
        "recall": [num(v) for v in r],
        "f1": [num(v) for v in f],
        "support": [int(v) for v in s],
    }
    if pos_label is not None:
        p, r, f, _ = skm.precision_recall_fscore_support(
            refs, preds, average="binary", pos_label=pos_label,
            zero_division=zero_division)
        exp["binary"] = {"precision": num(p), "recall": num(r), "f1": num(f)}
    labels = list(range(c))
    exp["confusion"] = skm.confusion_matrix(refs, preds, labels=labels).tolist()
    exp["confusion_normalized"] = [
        [num(v) for v in row]
        for row in skm.confusion_matrix(refs, preds, labels=labels, normalize="true")
    ]
    if probs is not None:
        exp["log_loss"] = num(skm.log_loss(refs, probs, labels=labels))
        if c == 2:
            exp["roc_auc"] = (num(skm.roc_auc_score(refs, probs[:, 1]))
                              if len(set(refs.tolist())) == 2 else None)
        exp["top_k"] = {
            str(k): num(skm.top_k_accuracy_score(refs, probs, k=k, labels=labels))
            for k in top_k
        }
    return {
        "name": name,
        "num_classes": c,
        "zero_division": zero_division,
        "pos_label": pos_label,
        "top_k": list(top_k),
        "refs": refs.tolist(),
        "preds": preds.tolist(),
        "probs": None if probs is None else [list(map(float, row)) for row in probs],
        "expected": exp,
    }


def random_probs(rng, n, c, decimals=3):
    """Rows of probabilities that sum to one exactly in decimal, with some ties."""
    raw = rng.integers(0, 6, size=(n, c)).astype(np.float64) + 1.0
    rows = raw / raw.sum(axis=1, keepdims=True)
    return np.round(rows, decimals)


def classification_cases():
    rng = np.random.default_rng(3)
    cases = []
    n, c = 60, 4
    probs = random_probs(rng, n, c)
    refs = rng.integers(0, c, size=n)
    cases.append(classification_case("multiclass_with_probs", refs, probs=probs,
                                     num_classes=c, top_k=(1, 2, 3)))

    refs = [0, 1, 2, 2, 1, 0, 2, 2, 1, 0]
    preds = [0, 1, 1, 1, 1, 0, 0, 1, 1, 0]  # class 2 never predicted
    for zd in (0, 1):
        cases.append(classification_case(f"class_never_predicted_zd{zd}", refs, preds,
                                         num_classes=3, zero_division=zd))

    refs = [0, 1, 1, 0, 1, 0, 0, 1]
    preds = [0, 2, 1, 0, 2, 2, 0, 1]  # class 2 absent from the references
    for zd in (0, 1):
        cases.append(classification_case(f"class_absent_from_refs_zd{zd}", refs, preds,
                                         num_classes=3, zero_division=zd))

    cases.append(classification_case("all_one_class_correct", [1] * 7, [1] * 7,
                                     num_classes=3))
    cases.append(classification_case("all_refs_one_class", [2] * 6, [2, 0, 2, 1, 2, 2],
                                     num_classes=3, zero_division=1))
    # Classes 3 and 4 exist in the model but never appear: rows of zeros.
    cases.append(classification_case("unused_classes", [0, 1, 2, 1, 0, 2, 2],
                                     [0, 2, 2, 1, 1, 2, 0], num_classes=5))

    # Binary with tied scores, so ROC-AUC must average ties.
    n = 40
    p1 = np.round(rng.integers(0, 11, size=n) / 10.0, 1)
    probs = np.stack([np.round(1.0 - p1, 1), p1], axis=1)
    refs = (rng.random(n) < 0.3 + 0.5 * p1).astype(np.int64)
    cases.append(classification_case("binary_tied_scores", refs, probs=probs,
                                     num_classes=2, pos_label=1))
    cases.append(classification_case("binary_pos_label_0", refs, probs=probs,
                                     num_classes=2, pos_label=0))
    # Probabilities of exactly 0 and 1 exercise log-loss clipping.
    probs = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.25, 0.75]])
    cases.append(classification_case("binary_extreme_probs", [1, 1, 0, 0, 1], probs=probs,
                                     num_classes=2, pos_label=1))
    cases.append(classification_case("binary_one_class_refs", [1, 1, 1],
                                     probs=[[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]],
                                     num_classes=2, pos_label=1))
    return cases


# ---------------------------------------------------------------- sequence labelling


def seq_scores(y_true, y_pred, mode, zero_division):
    def prfs(average):
        if mode == "default":
            return sl.precision_recall_fscore_support(
                y_true, y_pred, average=average, zero_division=zero_division)
        scheme = {"strict_iob2": IOB2, "strict_iobes": IOBES}[mode]
        return seqeval_v1.precision_recall_fscore_support(
            y_true, y_pred, average=average, zero_division=zero_division, scheme=scheme)

    exp = {"token_accuracy": num(sl.accuracy_score(y_true, y_pred))}
    for avg in ("micro", "macro", "weighted"):
        p, r, f, s = prfs(avg)
        exp[avg] = {"precision": num(p), "recall": num(r), "f1": num(f), "support": int(s)}
    if mode == "default":
        true_types = {t for t, _, _ in sl.get_entities(y_true)}
        pred_types = {t for t, _, _ in sl.get_entities(y_pred)}
    else:
        scheme = {"strict_iob2": IOB2, "strict_iobes": IOBES}[mode]
        true_types = seqeval_v1.Entities(y_true, scheme).unique_tags
        pred_types = seqeval_v1.Entities(y_pred, scheme).unique_tags
    names = sorted(true_types | pred_types)
    p, r, f, s = prfs(None)
    exp["per_type"] = [
        {"type": t, "precision": num(a), "recall": num(b), "f1": num(c), "support": int(d)}
        for t, a, b, c, d in zip(names, p, r, f, s)
    ]
    return exp


def seq_case(name, y_true, y_pred, modes, zero_division=0):
    return [{
        "name": f"{name}/{mode}/zd{zero_division}",
        "mode": mode,
        "zero_division": zero_division,
        "refs": y_true,
        "preds": y_pred,
        "expected": seq_scores(y_true, y_pred, mode, zero_division),
    } for mode in modes]


def random_iob2(rng, n_sent, types=("PER", "LOC", "ORG")):
    out = []
    for _ in range(n_sent):
        sent = []
        for _ in range(int(rng.integers(1, 12))):
            u = rng.random()
            t = types[int(rng.integers(0, len(types)))]
            sent.append("O" if u < 0.45 else ("B-" + t if u < 0.75 else "I-" + t))
        out.append(sent)
    return out


def corrupt(rng, seqs, tags):
    return [[(tags[int(rng.integers(0, len(tags)))] if rng.random() < 0.2 else t)
             for t in s] for s in seqs]


def sequence_cases():
    rng = np.random.default_rng(7)
    both = ("default", "strict_iob2")
    cases = []
    cases += seq_case("seqeval_doc_example",
                      [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]],
                      [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]],
                      both)
    cases += seq_case("entity_starts_with_I",
                      [["I-PER", "I-PER", "O", "B-LOC"], ["O", "I-ORG"]],
                      [["B-PER", "I-PER", "O", "I-LOC"], ["O", "I-ORG"]],
                      both)
    cases += seq_case("adjacent_same_type",
                      [["B-PER", "B-PER", "I-PER", "O", "B-LOC", "B-LOC"]],
                      [["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-LOC"]],
                      both)
    cases += seq_case("type_switch_inside",
                      [["B-PER", "I-LOC", "I-LOC", "O", "B-ORG", "I-ORG"]],
                      [["B-PER", "I-PER", "I-LOC", "O", "B-ORG", "I-PER"]],
                      both)
    cases += seq_case("type_only_predicted",
                      [["B-PER", "I-PER", "O", "O"], ["O", "O"]],
                      [["B-PER", "I-PER", "O", "B-MISC"], ["B-MISC", "O"]],
                      both, zero_division=0)
    cases += seq_case("type_only_predicted",
                      [["B-PER", "I-PER", "O", "O"], ["O", "O"]],
                      [["B-PER", "I-PER", "O", "B-MISC"], ["B-MISC", "O"]],
                      both, zero_division=1)
    cases += seq_case("only_predicted_entities",
                      [["O", "O", "O"]], [["B-PER", "O", "O"]], both, zero_division=1)
    cases += seq_case("entity_at_sentence_edges",
                      [["B-PER"], ["I-LOC", "I-LOC"], ["B-ORG", "I-ORG", "I-ORG"]],
                      [["B-PER"], ["B-LOC", "I-LOC"], ["B-ORG", "I-ORG", "O"]],
                      both)
    iobes = ("default", "strict_iobes")
    cases += seq_case("iobes_basic",
                      [["S-PER", "O", "B-LOC", "I-LOC", "E-LOC", "O", "B-ORG", "E-ORG"]],
                      [["S-PER", "O", "B-LOC", "I-LOC", "I-LOC", "O", "B-ORG", "E-ORG"]],
                      iobes)
    cases += seq_case("iobes_malformed",
                      [["B-PER", "E-PER", "S-PER", "I-LOC", "E-LOC", "O", "E-ORG"]],
                      [["B-PER", "S-PER", "S-PER", "B-LOC", "E-LOC", "B-ORG", "I-ORG"]],
                      iobes)
    cases += seq_case("iobes_type_mismatch",
                      [["B-PER", "I-LOC", "E-PER", "S-LOC", "S-LOC"]],
                      [["B-PER", "I-PER", "E-PER", "S-LOC", "B-LOC"]],
                      iobes)
    refs = random_iob2(rng, 25)
    preds = corrupt(rng, refs, ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"])
    cases += seq_case("random_iob2", refs, preds, both)
    return cases


def all_o_case():
    """No entities at all: seqeval's macro average is NaN (mean of nothing)."""
    y = [["O", "O"], ["O"]]
    return {
        "name": "all_O",
        "refs": y,
        "preds": y,
        "expected": {
            "micro": {"precision": num(sl.precision_score(y, y, zero_division=0)),
                      "recall": num(sl.recall_score(y, y, zero_division=0)),
                      "f1": num(sl.f1_score(y, y, zero_division=0))},
            "macro_f1": num(sl.f1_score(y, y, average="macro", zero_division=0)),
            "token_accuracy": num(sl.accuracy_score(y, y)),
        },
    }


# ---------------------------------------------------------------- regression


def regression_case(name, preds, refs):
    p = np.asarray(preds, dtype=np.float64)
    r = np.asarray(refs, dtype=np.float64)
    exp = {
        "mse": num(skm.mean_squared_error(r, p)),
        "rmse": num(skm.root_mean_squared_error(r, p)),
        "mae": num(skm.mean_absolute_error(r, p)),
        # force_finite=False: a constant reference gives NaN/-inf, i.e. undefined.
        # numpy's mean of [0.1, 0.1, 0.1] is not exactly 0.1, which would leave a
        # tiny non-zero total variance and R² = 1; a constant reference has no
        # variance, so it is recorded as undefined whatever the rounding.
        "r2": (num(skm.r2_score(r, p, force_finite=False))
               if len(r) > 1 and not np.all(r == r[0]) else None),
        "pearson": num(stats.pearsonr(p, r).statistic) if len(r) > 1 else None,
        "spearman": num(stats.spearmanr(p, r).statistic) if len(r) > 1 else None,
    }
    return {"name": name, "preds": p.tolist(), "refs": r.tolist(), "expected": exp}


def regression_cases():
    rng = np.random.default_rng(11)
    r = rounded(rng.normal(2.0, 3.0, size=50))
    p = rounded(np.asarray(r) * 0.8 + rng.normal(0.0, 1.5, size=50))
    cases = [regression_case("random_normal", p, r)]
    r = [1, 2, 2, 3, 3, 3, 4, 5, 5, 1]
    p = [1, 1, 2, 2, 3, 3, 3, 5, 4, 2]
    cases.append(regression_case("ties_for_spearman", p, r))
    cases.append(regression_case("constant_refs", [1.0, 2.0, 3.0, 2.5], [2.0, 2.0, 2.0, 2.0]))
    cases.append(regression_case("constant_refs_0.1", [0.1, 0.1, 0.1], [0.1, 0.1, 0.1]))
    cases.append(regression_case("constant_preds", [0.5, 0.5, 0.5, 0.5], [1.0, 0.0, 2.0, 3.5]))
    cases.append(regression_case("perfect", [1.5, -2.0, 3.25, 7.0], [1.5, -2.0, 3.25, 7.0]))
    cases.append(regression_case("anticorrelated", [4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.5]))
    cases.append(regression_case("single_value", [3.0], [1.0]))
    return cases


# ---------------------------------------------------------------- generative


def generative_cases():
    rng = np.random.default_rng(5)
    # Token NLLs from random logits; the accumulator sees per-batch sums only.
    vocab, n_tok = 17, 300
    logits = rng.normal(0.0, 2.0, size=(n_tok, vocab))
    targets = rng.integers(0, vocab, size=n_tok)
    logp = logits - logits.max(axis=1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
    nll = -logp[np.arange(n_tok), targets]
    cuts = [0, 37, 120, 121, 250, n_tok]
    batches = [{"nll_sum": float(nll[a:b].sum()), "count": int(b - a)}
               for a, b in zip(cuts[:-1], cuts[1:])]
    mean = float(nll.mean())
    nll_case = {
        "name": "token_nll",
        "batches": batches,
        "expected": {"mean_nll": mean, "perplexity": math.exp(mean),
                     "bits_per_dim": mean / math.log(2.0)},
    }
    recon = rounded(rng.gamma(3.0, 20.0, size=40))
    kl = rounded(rng.gamma(2.0, 4.0, size=40))
    vae_case = {
        "name": "vae_terms",
        "reconstruction": recon,
        "kl": kl,
        "expected": {
            "reconstruction": float(np.mean(recon)),
            "kl": float(np.mean(kl)),
            "elbo": float(np.mean(-(np.asarray(recon) + np.asarray(kl)))),
        },
    }
    return {"nll": [nll_case], "vae": [vae_case]}


def text_cases():
    """classification_report strings, to check the text tables column for column."""
    refs = [0, 1, 2, 2, 1, 0, 2, 2, 1, 0]
    preds = [0, 1, 1, 1, 1, 0, 0, 1, 1, 0]
    y_true = [["O", "O", "B-MISC", "I-MISC", "B-MISC", "O", "O"], ["B-PER", "I-PER", "O"]]
    y_pred = [["O", "O", "B-MISC", "I-MISC", "B-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    return {
        "classification": {
            "refs": refs, "preds": preds, "num_classes": 3,
            "digits2": skm.classification_report(refs, preds, zero_division=0),
            "digits4": skm.classification_report(refs, preds, digits=4, zero_division=0),
        },
        "sequence": {
            "refs": y_true, "preds": y_pred,
            "digits2": sl.classification_report(y_true, y_pred, zero_division=0),
            "digits4": sl.classification_report(y_true, y_pred, digits=4, zero_division=0),
        },
    }


def main():
    golden = {
        "text": text_cases(),
        "versions": {"scikit-learn": sklearn.__version__, "scipy": scipy.__version__,
                     "seqeval": importlib.metadata.version("seqeval")},
        "classification": classification_cases(),
        "sequence": sequence_cases(),
        "sequence_all_o": all_o_case(),
        "regression": regression_cases(),
        "generative": generative_cases(),
    }
    with open(OUT, "w") as f:
        json.dump(golden, f, sort_keys=True, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
