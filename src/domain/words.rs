//! Closed sets of words: the values an administrator types, the store keeps and the faces list
//! (challenge modes, providers, the choices of settings). [`words!`] declares one as an enum
//! with its words written once; parsing, printing, serialising, the list of every value and the
//! error that names the words all come from that one declaration.

use super::DomainError;

/// A value of a closed set of words.
pub trait Word: Copy + Eq + 'static {
    /// What a value is, in an error message ("challenge mode").
    const WHAT: &'static str;
    /// Every value, in the order the faces list them.
    const VALUES: &'static [Self];
    /// The word it is typed and stored as.
    fn word(self) -> &'static str;
}

/// The value whose word is `raw` (ASCII case-insensitive, surrounding blanks ignored), or an
/// error that names the words.
pub fn parse_word<W: Word>(raw: &str) -> Result<W, DomainError> {
    W::VALUES.iter().copied().find(|value| value.word().eq_ignore_ascii_case(raw.trim())).ok_or_else(|| {
        DomainError::invalid(W::WHAT, raw, format!("use {}", word_list(W::VALUES.iter().map(|v| v.word()))))
    })
}

/// Words as a sentence lists them: `a, b or c`.
pub fn word_list<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let words: Vec<&str> = words.into_iter().collect();
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Declares an enum of words: the enum, its [`Word`] impl, `ALL` (an array, in the faces'
/// order), `WORDS`, `word()`, `FromStr` (through [`parse_word`]), `Display` and `Serialize` as the
/// word. Other derives and attributes pass through.
macro_rules! words {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$variant_meta:meta])* $variant:ident = $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order the faces list them.
            pub const ALL: [Self; { [$($word),+].len() }] = [$(Self::$variant),+];
            /// Every word, in the same order.
            pub const WORDS: [&'static str; { [$($word),+].len() }] = [$($word),+];

            /// The word it is typed and stored as.
            pub fn word(self) -> &'static str {
                match self {
                    $( Self::$variant => $word, )+
                }
            }
        }

        impl $crate::domain::Word for $name {
            const WHAT: &'static str = $what;
            const VALUES: &'static [Self] = &Self::ALL;

            fn word(self) -> &'static str {
                $name::word(self)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::DomainError;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                $crate::domain::parse_word(raw)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.word())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.word())
            }
        }
    };
}

pub(crate) use words;

#[cfg(test)]
mod tests {
    use super::*;

    words! {
        /// A test set.
        enum Colour ("colour") {
            /// Red.
            Red = "red",
            /// Dark blue.
            DarkBlue = "dark-blue",
            /// Green.
            Green = "green",
        }
    }

    #[test]
    fn words_parse_print_and_name_each_other() {
        assert_eq!("Dark-Blue ".parse::<Colour>(), Ok(Colour::DarkBlue));
        assert_eq!(Colour::Green.to_string(), "green");
        assert_eq!(Colour::WORDS, ["red", "dark-blue", "green"]);
        let error = "pink".parse::<Colour>().unwrap_err().to_string();
        assert_eq!(error, "invalid colour \"pink\": use red, dark-blue or green");
        assert_eq!(serde_json::to_string(&Colour::Red).unwrap(), "\"red\"");
    }

    #[test]
    fn word_lists_read_as_sentences() {
        assert_eq!(word_list(["a"]), "a");
        assert_eq!(word_list(["a", "b"]), "a or b");
        assert_eq!(word_list(["a", "b", "c"]), "a, b or c");
    }
}
