//! Path and branch globs (`project.protected_paths`, `workflow.protected_branches`) with globset's
//! syntax and meaning, matched in time linear in the text for each pattern: globset compiled them
//! to regexes, which linked a regex engine (~0.5 MB of the static binary) for a few globs.
//!
//! Syntax (globset's defaults): `?` one character, `*` any run (also across `/`), `**` as a whole
//! path component any number of directories (`**/a` also matches `a`, `a/**/b` also `a/b`, `a/**`
//! everything below `a`), `[abc]`, `[a-z]`, `[!a]`/`[^a]`, `{a,b}` (nestable), `\` escapes;
//! `*` and `?` match a newline too, as in globset.

use std::fmt;

/// One element of a pattern without alternation.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    /// `?`
    Any,
    /// `*`
    Star,
    /// `**/` at the start: nothing, or any run ending in `/`.
    RecPrefix,
    /// `/**` at the end: `/` and any run.
    RecSuffix,
    /// `/**/` inside: `/`, or `/` any run `/`.
    RecMiddle,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A parsed element: alternation is expanded after parsing.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Tok(Tok),
    Alt(Vec<Vec<Node>>),
}

/// Most patterns an alternation may expand to (`{a,b}{c,d}` is four).
const MAX_EXPANSIONS: usize = 1024;

/// Why a pattern is not a glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobError {
    glob: String,
    why: &'static str,
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error parsing glob '{}': {}", self.glob, self.why)
    }
}

impl std::error::Error for GlobError {}

/// A compiled glob.
#[derive(Debug, Clone)]
pub struct Glob {
    /// The pattern with every alternation expanded: the glob matches when one of them does.
    flat: Vec<Vec<Tok>>,
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        let err = |why| GlobError {
            glob: pattern.to_string(),
            why,
        };
        let nodes = Parser {
            chars: pattern.chars().collect(),
            pos: 0,
            branches: vec![Vec::new()],
            stack: Vec::new(),
        }
        .parse()
        .map_err(err)?;
        // globset's special case: the whole pattern `**` matches everything.
        if nodes == [Node::Tok(Tok::RecPrefix)] {
            return Ok(Glob {
                flat: vec![vec![Tok::Star]],
            });
        }
        let flat =
            expand(&nodes).ok_or_else(|| err("too many alternatives (more than 1024 patterns)"))?;
        Ok(Glob { flat })
    }

    pub fn is_match(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        self.flat.iter().any(|toks| matches(toks, &text))
    }
}

/// Any of several globs; `matches` says which.
#[derive(Debug, Clone, Default)]
pub struct GlobSet {
    globs: Vec<Glob>,
}

impl GlobSet {
    pub fn new(globs: Vec<Glob>) -> GlobSet {
        GlobSet { globs }
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.globs.iter().any(|g| g.is_match(text))
    }

    /// Indexes of the globs that match, in order.
    pub fn matches(&self, text: &str) -> Vec<usize> {
        (0..self.globs.len())
            .filter(|&i| self.globs[i].is_match(text))
            .collect()
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// The token lists being built: one, plus one per open alternation branch.
    branches: Vec<Vec<Node>>,
    /// For each open `{`, the index in `branches` of its first branch.
    stack: Vec<usize>,
}

impl Parser {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// The character before the one just read.
    fn prev(&self) -> Option<char> {
        self.pos.checked_sub(2).map(|i| self.chars[i])
    }

    fn push(&mut self, t: Tok) {
        self.push_node(Node::Tok(t));
    }

    fn push_node(&mut self, n: Node) {
        if let Some(b) = self.branches.last_mut() {
            b.push(n);
        }
    }

    fn parse(mut self) -> Result<Vec<Node>, &'static str> {
        while let Some(c) = self.bump() {
            match c {
                '?' => self.push(Tok::Any),
                '*' => self.star(),
                '[' => self.class()?,
                '{' => {
                    self.stack.push(self.branches.len());
                    self.branches.push(Vec::new());
                }
                '}' => {
                    let start = self.stack.pop().ok_or(
                        "unopened alternate group; missing '{' (maybe escape '}' with '[}]'?)",
                    )?;
                    let alts: Vec<Vec<Node>> = self.branches.drain(start..).collect();
                    self.push_node(Node::Alt(alts));
                }
                ',' if !self.stack.is_empty() => self.branches.push(Vec::new()),
                '\\' => {
                    let c = self.bump().ok_or("dangling '\\'")?;
                    self.push(Tok::Lit(c));
                }
                c => self.push(Tok::Lit(c)),
            }
        }
        if !self.stack.is_empty() {
            return Err("unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)");
        }
        Ok(self.branches.pop().unwrap_or_default())
    }

    /// After a `*`: globset's rules for when `**` is recursive.
    fn star(&mut self) {
        let prev = self.prev();
        if self.peek() != Some('*') {
            self.push(Tok::Star);
            return;
        }
        self.bump();
        let in_alt = !self.stack.is_empty();
        let branch_empty = self.branches.last().is_none_or(|b| b.is_empty());
        let twice = |p: &mut Parser| {
            p.push(Tok::Star);
            p.push(Tok::Star);
        };
        if branch_empty {
            if self.peek().is_none_or(|c| c == '/') {
                self.bump();
                self.push(Tok::RecPrefix);
            } else {
                twice(self);
            }
            return;
        }
        if prev != Some('/') && !(in_alt && matches!(prev, Some(',') | Some('{'))) {
            twice(self);
            return;
        }
        let suffix = match self.peek() {
            None => true,
            Some(',') | Some('}') if in_alt => true,
            Some('/') => {
                self.bump();
                false
            }
            _ => {
                twice(self);
                return;
            }
        };
        // The `/` before `**` is part of the recursive token.
        let last = self.branches.last_mut().and_then(|b| b.pop());
        match last {
            Some(Node::Tok(Tok::RecPrefix)) => self.push(Tok::RecPrefix),
            Some(Node::Tok(Tok::RecSuffix)) => self.push(Tok::RecSuffix),
            _ => self.push(if suffix {
                Tok::RecSuffix
            } else {
                Tok::RecMiddle
            }),
        }
    }

    fn class(&mut self) -> Result<(), &'static str> {
        let negated = matches!(self.peek(), Some('!') | Some('^'));
        if negated {
            self.bump();
        }
        let mut ranges: Vec<(char, char)> = Vec::new();
        let mut first = true;
        let mut in_range = false;
        loop {
            let c = self.bump().ok_or("unclosed character class; missing ']'")?;
            match c {
                ']' if !first => break,
                '-' if first => ranges.push(('-', '-')),
                '-' if !in_range => in_range = true,
                c => {
                    if in_range {
                        let r = ranges.last_mut().ok_or("invalid character range")?;
                        r.1 = c;
                        if r.1 < r.0 {
                            return Err("invalid character range");
                        }
                    } else {
                        ranges.push((c, c));
                    }
                    in_range = false;
                }
            }
            first = false;
        }
        if in_range {
            ranges.push(('-', '-'));
        }
        self.push(Tok::Class { negated, ranges });
        Ok(())
    }
}

/// Every flat pattern `nodes` stands for; `None` beyond [`MAX_EXPANSIONS`]. Empty branches
/// match nothing extra (globset drops them, so `{a,}` is `a`).
fn expand(nodes: &[Node]) -> Option<Vec<Vec<Tok>>> {
    let mut out: Vec<Vec<Tok>> = vec![Vec::new()];
    for n in nodes {
        match n {
            Node::Tok(t) => out.iter_mut().for_each(|p| p.push(t.clone())),
            Node::Alt(branches) => {
                let mut alts = Vec::new();
                for b in branches.iter().filter(|b| !b.is_empty()) {
                    alts.extend(expand(b)?);
                }
                if alts.is_empty() {
                    continue;
                }
                let mut next = Vec::new();
                for p in &out {
                    for a in &alts {
                        if next.len() >= MAX_EXPANSIONS {
                            return None;
                        }
                        next.push(p.iter().chain(a).cloned().collect());
                    }
                }
                out = next;
            }
        }
    }
    Some(out)
}

/// Whether `toks` matches all of `s`: dynamic programming from the end, O(tokens × chars).
fn matches(toks: &[Tok], s: &[char]) -> bool {
    let n = s.len();
    // `next[j]`: the tokens after the current one match `s[j..]`.
    let mut next: Vec<bool> = (0..=n).map(|j| j == n).collect();
    for t in toks.iter().rev() {
        // any_from[j]: some k >= j with next[k].
        let mut any_from = vec![false; n + 2];
        // slash_to[j]: some k in (j, n] with s[k-1] == '/' and next[k].
        let mut slash_to = vec![false; n + 2];
        for j in (0..=n).rev() {
            any_from[j] = next[j] || any_from[j + 1];
            slash_to[j] = (j < n && s[j] == '/' && next[j + 1]) || slash_to[j + 1];
        }
        let cur: Vec<bool> =
            (0..=n)
                .map(|j| {
                    let one = |ok: bool| ok && j < n && next[j + 1];
                    match t {
                        Tok::Lit(c) => one(j < n && s[j] == *c),
                        Tok::Any => one(true),
                        Tok::Class { negated, ranges } => one(j < n
                            && ranges.iter().any(|&(a, b)| a <= s[j] && s[j] <= b) != *negated),
                        Tok::Star => any_from[j],
                        Tok::RecPrefix => next[j] || slash_to[j],
                        Tok::RecSuffix => j < n && s[j] == '/' && any_from[j + 1],
                        Tok::RecMiddle => j < n && s[j] == '/' && (next[j + 1] || slash_to[j + 1]),
                    }
                })
                .collect();
        next = cur;
    }
    next[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).unwrap().is_match(s)
    }

    #[test]
    fn stars_questions_and_classes_match_as_in_globset() {
        assert!(m("*.yml", "a.yml"));
        assert!(
            m("*.yml", "dir/a.yml"),
            "`*` crosses `/` (globset's default)"
        );
        assert!(!m("*.yml", "a.yaml"));
        assert!(m("a?c", "abc") && !m("a?c", "ac"));
        assert!(m("[ab]x", "bx") && !m("[ab]x", "cx"));
        assert!(m("[a-c]", "b") && !m("[a-c]", "d"));
        assert!(m("[!a]", "b") && !m("[!a]", "a") && m("[^a]", "b"));
        assert!(m("[]]", "]") && m("[-a]", "-") && m("[a-]", "-"));
        assert!(m(r"\*", "*") && !m(r"\*", "a"));
        assert!(m("main", "main") && !m("main", "mainx") && !m("main", "xmain"));
        assert!(m("release/*", "release/1.0") && !m("release/*", "release"));
        assert!(m("", "") && !m("", "a"));
    }

    #[test]
    fn double_stars_as_whole_components_span_directories() {
        assert!(m("**", "") && m("**", "a/b/c"));
        assert!(m("**/a", "a") && m("**/a", "x/y/a") && !m("**/a", "xa"));
        assert!(m("a/**", "a/b") && m("a/**", "a/b/c") && !m("a/**", "a") && !m("a/**", "ab"));
        assert!(m("a/**/b", "a/b") && m("a/**/b", "a/x/y/b") && !m("a/**/b", "ab"));
        assert!(m("infra/**", "infra/x.tf"));
        // Not a whole component: like `*`.
        assert!(m("a**", "abc/d") && m("**a", "x/ya"));
    }

    #[test]
    fn alternatives_expand_and_nest() {
        assert!(m("{a,b}.md", "a.md") && m("{a,b}.md", "b.md") && !m("{a,b}.md", "c.md"));
        assert!(m("x{a,{b,c}}", "xc"));
        assert!(m("{a,}", "a") && !m("{a,}", ""));
        assert!(m("a,b", "a,b"), "a comma outside braces is a character");
        assert!(m("{**/x,y}", "d/x") && m("{**/x,y}", "y"));
        let set = GlobSet::new(vec![Glob::new("a*").unwrap(), Glob::new("*b").unwrap()]);
        assert_eq!(set.matches("ab"), vec![0, 1]);
        assert!(set.is_match("b") && !set.is_match("c"));
    }

    #[test]
    fn bad_patterns_are_errors_that_name_the_pattern() {
        for (p, why) in [
            ("a/[b", "unclosed character class"),
            ("[z-a]", "invalid character range"),
            ("{a,b", "unclosed alternate group"),
            ("a}", "unopened alternate group"),
            ("a\\", "dangling"),
        ] {
            let e = Glob::new(p).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(&format!("'{p}'")), "{p}: {e}");
        }
        let bomb = "{a,b}".repeat(11);
        assert!(
            Glob::new(&bomb)
                .unwrap_err()
                .to_string()
                .contains("too many alternatives")
        );
    }

    #[test]
    fn long_untrusted_paths_match_in_linear_time_per_pattern() {
        // A backtracking matcher takes exponential time here; this finishes at once.
        let path = "a".repeat(5000);
        assert!(!m("*a*a*a*a*a*a*a*a*b", &path));
        assert!(m("*\n*", "a\nb"), "a newline is matched like any character");
    }
}

/// The same answers as globset (kept as a dev-dependency for this check only) over many random
/// patterns and paths built from the characters that matter.
#[cfg(test)]
mod against_globset {
    use super::*;

    #[test]
    fn random_patterns_and_paths_agree_with_globset() {
        let pieces = [
            "a",
            "b",
            "/",
            "*",
            "?",
            "**",
            "/**/",
            "**/",
            "/**",
            "[a-b]",
            "[!a]",
            "{a,b}",
            "{a/**,b*}",
            ",",
            "\\*",
        ];
        let path_chars = ['a', 'b', '/', '*', ','];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n
        };
        let mut compared = 0;
        for _ in 0..3000 {
            let pattern: String = (0..1 + next(5))
                .map(|_| pieces[next(pieces.len())])
                .collect();
            let (Ok(ours), Ok(theirs)) = (Glob::new(&pattern), globset::Glob::new(&pattern)) else {
                assert_eq!(
                    Glob::new(&pattern).is_ok(),
                    globset::Glob::new(&pattern).is_ok(),
                    "{pattern:?}"
                );
                continue;
            };
            let theirs = theirs.compile_matcher();
            for _ in 0..20 {
                let path: String = (0..next(7))
                    .map(|_| path_chars[next(path_chars.len())])
                    .collect();
                assert_eq!(
                    ours.is_match(&path),
                    theirs.is_match(&path),
                    "pattern {pattern:?}, path {path:?}"
                );
                compared += 1;
            }
        }
        assert!(compared > 30_000, "{compared}");
    }
}
