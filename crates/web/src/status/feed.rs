//! `GET /status/:slug/feed.atom`: the page's incidents and maintenance
//! windows as an Atom feed (RFC 4287), one entry each, updated with every
//! incident update, so feed readers and the chat integrations that follow
//! feeds learn of them.
//!
//! Written with quick-xml's writer, which escapes every text and attribute.
//! (The `atom_syndication` crate would bring a second, older quick-xml
//! into the build.)

use std::io;

use certsentry_domain::time::{Millis, format_ms};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::data::PageData;
use super::notices::{incident_view, maintenance_view};

/// One `<entry>`, before it is written.
struct Entry {
    id: String,
    title: String,
    updated: Millis,
    published: Millis,
    link: String,
    /// HTML, carried as escaped text (`type="html"`).
    content: String,
}

type Xml = Writer<Vec<u8>>;

fn text_element(w: &mut Xml, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

fn link(w: &mut Xml, rel: &str, kind: &str, href: &str) -> io::Result<()> {
    w.create_element("link")
        .with_attributes([("rel", rel), ("type", kind), ("href", href)])
        .write_empty()?;
    Ok(())
}

fn write_entry(w: &mut Xml, entry: &Entry) -> io::Result<()> {
    w.create_element("entry").write_inner_content(|w| {
        text_element(w, "id", &entry.id)?;
        w.create_element("title")
            .with_attribute(("type", "text"))
            .write_text_content(BytesText::new(&entry.title))?;
        text_element(w, "updated", &format_ms(entry.updated))?;
        text_element(w, "published", &format_ms(entry.published))?;
        link(w, "alternate", "text/html", &entry.link)?;
        w.create_element("content")
            .with_attribute(("type", "html"))
            .write_text_content(BytesText::new(&entry.content))?;
        Ok(())
    })?;
    Ok(())
}

fn entries(data: &PageData) -> Vec<Entry> {
    let history = format!("/status/{}/history", data.slug);
    let mut entries = Vec::new();
    for incident in &data.incidents {
        let view = incident_view(data, incident);
        let content: String = view
            .updates
            .iter()
            .map(|u| {
                format!(
                    "<p><strong>{}</strong> · {}</p>{}",
                    u.state_label, u.at, u.body_html
                )
            })
            .collect();
        entries.push(Entry {
            id: format!("urn:certsentry:incident:{}", incident.id),
            title: format!("{} ({})", incident.title, view.state_label),
            updated: incident.updated_at,
            published: incident.created_at,
            link: format!("{history}#{}", view.anchor),
            content,
        });
    }
    for window in &data.maintenance {
        let view = maintenance_view(data, window);
        let mut content = format!("<p>{} · {}</p>", view.phase_label, view.window);
        if !view.affected.is_empty() {
            // Labels are plain text: escaped here, as the HTML template would.
            let affected = quick_xml::escape::escape(view.affected.as_str());
            content.push_str(&format!("<p>Affects {affected}</p>"));
        }
        if let Some(message) = &view.message_html {
            content.push_str(message);
        }
        entries.push(Entry {
            id: format!("urn:certsentry:maintenance:{}", window.id),
            title: format!("Scheduled maintenance: {}", window.spec.title),
            updated: window.updated_at,
            published: window.created_at,
            link: format!("{history}#{}", view.anchor),
            content,
        });
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.updated));
    entries
}

fn write_feed(data: &PageData) -> io::Result<Vec<u8>> {
    let entries = entries(data);
    let updated = entries.first().map_or(data.updated_at, |e| e.updated);
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 1);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    w.create_element("feed")
        .with_attribute(("xmlns", "http://www.w3.org/2005/Atom"))
        .write_inner_content(|w| {
            text_element(w, "id", &format!("urn:certsentry:status-page:{}", data.id))?;
            text_element(w, "title", &data.title)?;
            text_element(
                w,
                "subtitle",
                &format!("Incidents and maintenance of {}", data.title),
            )?;
            text_element(w, "updated", &format_ms(updated))?;
            w.create_element("author")
                .write_inner_content(|w| text_element(w, "name", &data.title))?;
            // Relative to the feed's own address, as RFC 4287 allows, so
            // the feed is right behind any proxy or host name.
            link(
                w,
                "alternate",
                "text/html",
                &format!("/status/{}", data.slug),
            )?;
            link(
                w,
                "self",
                "application/atom+xml",
                &format!("/status/{}/feed.atom", data.slug),
            )?;
            for entry in &entries {
                write_entry(w, entry)?;
            }
            Ok(())
        })?;
    Ok(w.into_inner())
}

/// The feed's XML.
pub fn atom(data: &PageData) -> String {
    let bytes = write_feed(data).expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the writer writes the UTF-8 it is given")
}
