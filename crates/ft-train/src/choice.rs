//! Settings that take one of a fixed set of names (`optim`, `lr_scheduler_type`,
//! `freeze_strategy`, …) are enums, not strings: a typo is refused when the config is read,
//! listing the names allowed, instead of surfacing after the data was tokenised. In JSON they
//! stay the strings users write, so recipes and `training_args.json` read as before.

/// Declares such an enum: each variant with its name in configs (and optional aliases that
/// read as it). It gets `as_str`, `names`, `FromStr` (the error lists the names), `Display`,
/// and serde as that string.
#[macro_export]
macro_rules! choice {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in the order the docs list them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name configs and flags use.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Every name, for messages and `--help`.
            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|c| c.as_str()).collect()
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text $(| $alias)* => Ok($name::$variant),)+
                    other => Err(format!(
                        "`{other}` is not one of {}",
                        Self::names().join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::serde_as_string!($name);
    };
}

/// Serde for a type that is written as a string: `Display` out, `FromStr` in (its error
/// message becomes the deserialisation error).
#[macro_export]
macro_rules! serde_as_string {
    ($name:ty) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::choice! {
        /// A test choice.
        enum Fruit {
            Apple = "apple" | "pomme",
            Pear = "pear",
        }
    }

    #[test]
    fn names_round_trip_and_typos_list_the_choices() {
        assert_eq!("pomme".parse::<Fruit>(), Ok(Fruit::Apple));
        assert_eq!(Fruit::Pear.to_string(), "pear");
        assert_eq!(serde_json::to_string(&Fruit::Apple).unwrap(), "\"apple\"");
        let e = serde_json::from_str::<Fruit>("\"peach\"").unwrap_err();
        assert!(
            e.to_string().contains("`peach` is not one of apple, pear"),
            "{e}"
        );
    }
}
