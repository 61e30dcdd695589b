//! The `--only GLOB` matcher: `*` matches any run of bytes (slashes included), `?` one byte,
//! everything else itself. A path matches when the whole path or its last component does, so
//! `*.gguf` matches `/models/tiny.gguf`. Never allocates (the preload matches inside `open`).

/// Whether `path` (as the program passed it) matches `pattern`.
#[must_use]
pub fn path_matches(pattern: &[u8], path: &[u8]) -> bool {
    if matches(pattern, path) {
        return true;
    }
    match path.iter().rposition(|&b| b == b'/') {
        Some(slash) => path
            .get(slash + 1..)
            .is_some_and(|name| matches(pattern, name)),
        None => false,
    }
}

/// Whole-string glob match, iterative with one backtrack point (linear in practice).
fn matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn globs() {
        assert!(path_matches(b"*.gguf", b"/m/tiny.gguf"));
        assert!(path_matches(b"*.gguf", b"tiny.gguf"));
        assert!(!path_matches(b"*.gguf", b"/m/tiny.gguf.bak"));
        assert!(path_matches(b"/m/*", b"/m/a/b"));
        assert!(path_matches(b"t?ny.*", b"/x/tiny.safetensors"));
        assert!(!path_matches(b"t?ny", b"/x/tiiny"));
        assert!(path_matches(b"*", b""));
        assert!(path_matches(b"a*b*c", b"a-b-x-c"));
        assert!(!path_matches(b"a*b*c", b"a-b-x-d"));
    }
}
