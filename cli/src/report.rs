
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi_and_quotes() {
        assert_eq!(escape("a\u{1b}[31mb\u{7}"), "a\\u{1b}[31mb\\u{7}");
        assert_eq!(escape("\u{202e}x\u{2066}"), "\\u{202e}x\\u{2066}");
        assert_eq!(escape("plain é 漢"), "plain é 漢");
        assert_eq!(quoted("say \"hi\"\\\n"), "\"say \\\"hi\\\"\\\\\\u{a}\"");
    }

    #[test]
    fn long_strings_fold_and_long_cells_are_cut() {
        let long = "x".repeat(1000);
        let folded = fold(&long, "  ");
        let lines: Vec<&str> = folded.lines().collect();
        assert_eq!(lines.len(), FOLD_LINES + 1);
        assert!(lines.iter().take(FOLD_LINES).all(|l| l.trim_start().chars().count() == FOLD_WIDTH));
        assert!(lines[FOLD_LINES].contains(&format!("{} more characters", 1000 - FOLD_WIDTH * FOLD_LINES)));
        assert_eq!(fold("short", "  "), "\"short\"");
        let c = cell(&"n".repeat(70_000), CELL_MAX);
        assert_eq!(c.chars().count(), CELL_MAX);
        assert!(c.ends_with('…'));
    }

    #[test]
    fn padding_needs_no_format_width() {
        let mut out = String::new();
        pad(&mut out, "ab", 100_000, false);
        assert_eq!(out.len(), 100_000);
        let mut out = String::new();
        pad(&mut out, "7", 3, true);
        assert_eq!(out, "  7");
    }
}
