//! Argument values of the command line's own: comma-separated lists, and the parser of the
//! domain's closed sets of words. clap parses every value before a handler runs, so a handler gets
//! them checked.

use std::ffi::OsStr;
use std::marker::PhantomData;
use std::str::FromStr;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Arg, Command};

use crate::domain::{DomainError, IpNetwork, Word, parse_networks, parse_url_prefixes, parse_word};

/// Networks, comma-separated (CIDR or single addresses); `""` is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Networks(pub Vec<IpNetwork>);

impl FromStr for Networks {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        parse_networks(raw).map(Self)
    }
}

/// URL prefixes, comma-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPrefixes(pub Vec<String>);

impl FromStr for UrlPrefixes {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        parse_url_prefixes(raw).map(Self)
    }
}

/// clap's parser of a closed set of words: it parses with the domain's [`parse_word`] (so the
/// error names the words) and lists the words in `--help`, from the one place they are written.
#[derive(Debug)]
pub struct WordParser<W>(PhantomData<W>);

impl<W> Clone for WordParser<W> {
    fn clone(&self) -> Self {
        Self(PhantomData)
    }
}

/// The parser of `W`'s words.
pub fn words<W: Word + Send + Sync>() -> WordParser<W> {
    WordParser(PhantomData)
}

impl<W: Word + Send + Sync> TypedValueParser for WordParser<W> {
    type Value = W;

    fn parse_ref(&self, cmd: &Command, arg: Option<&Arg>, value: &OsStr) -> Result<W, clap::Error> {
        let invalid = |message: String| {
            let name = match arg {
                Some(arg) => arg.get_long().map_or_else(|| format!("<{}>", arg.get_id()), |long| format!("--{long}")),
                None => String::new(),
            };
            clap::Error::raw(ErrorKind::ValueValidation, format!("{name}: {message}\n")).with_cmd(cmd)
        };
        let text = value.to_str().ok_or_else(|| invalid("it is not UTF-8".to_owned()))?;
        parse_word(text).map_err(|e| invalid(e.to_string()))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(W::VALUES.iter().map(|value| PossibleValue::new(value.word()))))
    }
}
