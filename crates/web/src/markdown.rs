//! Operator-written Markdown (incident updates, maintenance messages) as
//! HTML that is safe to put in a public page: rendered by pulldown-cmark,
//! then cleaned by ammonia, which keeps formatting, lists, code and links
//! and drops scripts, event handlers, styles and anything else that could
//! run or restyle the page. Images are dropped too: the pages make no
//! request to anyone else (and the policy would block them anyway).

use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut cleaner = ammonia::Builder::default();
    cleaner.rm_tags(["img"]);
    cleaner
});

/// `markdown` as sanitized HTML.
pub fn to_safe_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    );
    let mut unsafe_html = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut unsafe_html, parser);
    CLEANER.clean(&unsafe_html).to_string()
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn formatting_stays_and_scripts_go() {
        let html = to_safe_html(
            "**Cause:** a bad [deploy](https://example.com/x).\n\n\
             <script>alert(1)</script><img src=https://tracker.example/p.png onerror=alert(2)>\n\n\
             [click](javascript:alert(3)) <a href=\"#\" onclick=\"alert(4)\">x</a>",
        );
        assert!(html.contains("<strong>Cause:</strong>"), "{html}");
        assert!(html.contains("href=\"https://example.com/x\""), "{html}");
        for gone in [
            "<script",
            "alert(1)",
            "<img",
            "tracker",
            "javascript:",
            "onclick",
        ] {
            assert!(!html.contains(gone), "{gone} left in {html}");
        }
    }
}
