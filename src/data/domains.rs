//! Text domain of every built-in pair, from the source of its sentences
//! (see `shared/data/README.md`, "Candidate out-of-distribution domains").
//!
//! One table row per (task family, subset); a test checks that every built-in pair
//! matches exactly one row. News is the in-distribution reference: MRPC and STS-B
//! are mostly news-like text.

/// Domain names used in results (stable identifiers).
pub const NEWS: &str = "news";
pub const CAPTIONS: &str = "captions";
pub const DEFINITIONS: &str = "definitions";
pub const SOCIAL: &str = "social-media";
pub const FORUMS: &str = "forums";
pub const EDUCATION: &str = "education";
pub const TRANSLATION: &str = "translation";
pub const BIOMEDICAL: &str = "biomedical";

/// Every built-in domain with a one-line description, in display order.
pub const DOMAINS: [(&str, &str); 8] = [
    (NEWS, "news wire and headlines (MRPC, MSRpar, SMTnews, headlines, deft-news)"),
    (CAPTIONS, "image and video captions (MSRvid, images, SNLI track5, SICK)"),
    (DEFINITIONS, "lexical glosses from WordNet, OntoNotes, FrameNet (OnWN, FNWN)"),
    (SOCIAL, "tweets paired with news headlines (tweet-news)"),
    (FORUMS, "forums and Q&A, StackExchange-like (deft-forum, answers-forums, belief, answer-answer, question-question)"),
    (EDUCATION, "student answers (answers-students, plagiarism)"),
    (TRANSLATION, "machine-translation output, Europarl (SMTeuroparl, postediting)"),
    (BIOMEDICAL, "biomedical articles (BIOSSES)"),
];

/// `(family, subset, domain)`; `*` as subset matches every subset of the family.
/// STS-B subsets are its `source` column; STS12–16 subsets are the SemEval file names.
pub const TABLE: &[(&str, &str, &str)] = &[
    ("mrpc", "*", NEWS),
    ("sickr", "*", CAPTIONS),
    ("biosses", "*", BIOMEDICAL),
    ("stsb", "MSRpar", NEWS),
    ("stsb", "headlines", NEWS),
    ("stsb", "deft-news", NEWS),
    ("stsb", "MSRvid", CAPTIONS),
    ("stsb", "images", CAPTIONS),
    ("stsb", "track5.en-en", CAPTIONS),
    ("stsb", "deft-forum", FORUMS),
    ("stsb", "answers-forums", FORUMS),
    ("stsb", "answer-answer", FORUMS),
    ("sts", "MSRpar", NEWS),
    ("sts", "SMTnews", NEWS),
    ("sts", "headlines", NEWS),
    ("sts", "deft-news", NEWS),
    ("sts", "MSRvid", CAPTIONS),
    ("sts", "images", CAPTIONS),
    ("sts", "OnWN", DEFINITIONS),
    ("sts", "FNWN", DEFINITIONS),
    ("sts", "tweet-news", SOCIAL),
    ("sts", "deft-forum", FORUMS),
    ("sts", "answers-forums", FORUMS),
    ("sts", "belief", FORUMS),
    ("sts", "answer-answer", FORUMS),
    ("sts", "question-question", FORUMS),
    ("sts", "answers-students", EDUCATION),
    ("sts", "plagiarism", EDUCATION),
    ("sts", "SMTeuroparl", TRANSLATION),
    ("sts", "postediting", TRANSLATION),
];

/// The table rows matching a pair of `family` (sts12..sts16 are family `sts`) and `subset`.
pub fn matches(family: &str, subset: &str) -> Vec<&'static str> {
    let family = if family.starts_with("sts1") {
        "sts"
    } else {
        family
    };
    TABLE
        .iter()
        .filter(|(f, s, _)| *f == family && (*s == "*" || *s == subset))
        .map(|(_, _, d)| *d)
        .collect()
}

/// The domain of a built-in pair, if the table knows its subset.
pub fn domain_of(family: &str, subset: &str) -> Option<&'static str> {
    match matches(family, subset).as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// Display rank of a domain (built-ins first, in `DOMAINS` order; others after, by name).
pub fn order_key(domain: &str) -> (usize, String) {
    let rank = DOMAINS
        .iter()
        .position(|(d, _)| *d == domain)
        .unwrap_or(DOMAINS.len());
    (rank, domain.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_unambiguous() {
        for (f, s, _) in TABLE {
            let fam = if *f == "sts" { "sts12" } else { f };
            assert_eq!(matches(fam, s).len(), 1, "{f}/{s}");
        }
        assert_eq!(domain_of("sts14", "tweet-news"), Some(SOCIAL));
        assert_eq!(domain_of("sts14", "unknown-subset"), None);
        for (_, _, d) in TABLE {
            assert!(DOMAINS.iter().any(|(name, _)| name == d));
        }
    }
}
