//! Keeps measured figures in the README current: a tool writes its report between two marker
//! comments (`<!-- NAME:start -->` and `<!-- NAME:end -->`), so no figure is typed by hand.

use std::path::Path;

/// Replaces what stands between the markers of `name` in the file at `path` with `content`.
pub fn replace_section(path: &Path, name: &str, content: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let (Some(from), Some(to)) = (text.find(&start), text.find(&end)) else {
        return Err(format!("{} has no {start} … {end} section", path.display()));
    };
    if to < from {
        return Err(format!("{}: {end} comes before {start}", path.display()));
    }
    let updated = format!(
        "{}{start}\n{}\n{}",
        &text[..from],
        content.trim_end(),
        &text[to..]
    );
    std::fs::write(path, updated).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_marked_section_changes() {
        let path = std::env::temp_dir().join(format!("ponte-readme-{}.md", std::process::id()));
        std::fs::write(&path, "a\n<!-- x:start -->\nold\n<!-- x:end -->\nb\n").unwrap();
        replace_section(&path, "x", "new\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "a\n<!-- x:start -->\nnew\n<!-- x:end -->\nb\n"
        );
        assert!(replace_section(&path, "y", "z").is_err());
        let _ = std::fs::remove_file(path);
    }
}
