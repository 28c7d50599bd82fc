//! Reading, checking and writing nbformat 4 notebooks, and the cell tags the tools use.
//!
//! A notebook stays a `serde_json::Value` so fields the tools do not know (outputs, attachments,
//! widget state, extension metadata) pass through unchanged. Notebooks are written as nbformat
//! writes them: keys sorted, one-space indent, UTF-8 without escapes, a final newline.

use std::fs;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::fsutil;

/// The tag prefix that numbers a code cell (`codenum:3`).
pub const CODENUM: &str = "codenum:";
/// The tag prefix that names the notebook a cell came from (`filename:task.ipynb`).
pub const FILENAME: &str = "filename:";
/// The codenum of the score cell that `extract` appends after each submission.
pub const SCORE_CODENUM: u32 = 999;

/// An nbformat 4 notebook held as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Notebook {
    root: Map<String, Value>,
}

impl Notebook {
    /// Parses and checks a notebook: a JSON object with `nbformat` 4, a `cells` array whose every
    /// entry is an object with a known `cell_type`, and a `source` that is a string or a list of strings.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON ({e})"))?;
        let Value::Object(root) = value else {
            return Err("the top level is not a JSON object".into());
        };
        match root.get("nbformat").and_then(Value::as_u64) {
            Some(4) => {}
            Some(v) => return Err(format!("nbformat {v} is not supported (only 4)")),
            None => return Err("no \"nbformat\" number".into()),
        }
        let Some(cells) = root.get("cells").and_then(Value::as_array) else {
            return Err("no \"cells\" list".into());
        };
        for (i, cell) in cells.iter().enumerate() {
            let Some(obj) = cell.as_object() else {
                return Err(format!("cell {i} is not an object"));
            };
            match obj.get("cell_type").and_then(Value::as_str) {
                Some("code" | "markdown" | "raw") => {}
                Some(t) => return Err(format!("cell {i} has unknown cell_type \"{t}\"")),
                None => return Err(format!("cell {i} has no cell_type")),
            }
            match obj.get("source") {
                Some(Value::String(_)) => {}
                Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
                _ => return Err(format!("cell {i} has no string or list-of-strings source")),
            }
        }
        Ok(Self { root })
    }

    /// Reads and checks the notebook at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = fs::read(path).map_err(Error::io("read", path))?;
        let text = String::from_utf8(text).map_err(|e| Error::Malformed {
            path: path.into(),
            reason: format!("not UTF-8 text ({e})"),
        })?;
        Self::parse(&text).map_err(|reason| Error::Malformed {
            path: path.into(),
            reason,
        })
    }

    /// Builds an empty notebook with the given top-level `metadata` and `nbformat_minor`.
    pub fn new(metadata: Value, nbformat_minor: u64) -> Self {
        let mut root = Map::new();
        root.insert("cells".into(), Value::Array(Vec::new()));
        root.insert("metadata".into(), metadata);
        root.insert("nbformat".into(), json!(4));
        root.insert("nbformat_minor".into(), json!(nbformat_minor));
        Self { root }
    }

    /// The top-level `metadata` object (`{}` when missing).
    pub fn metadata(&self) -> Value {
        self.root
            .get("metadata")
            .cloned()
            .unwrap_or_else(|| json!({}))
    }

    /// The `nbformat_minor` number (0 when missing).
    pub fn nbformat_minor(&self) -> u64 {
        self.root
            .get("nbformat_minor")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    /// The cells, in order.
    pub fn cells(&self) -> &[Value] {
        self.root
            .get("cells")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The cells, mutable (`parse` and `new` guarantee the list exists).
    pub fn cells_mut(&mut self) -> &mut Vec<Value> {
        let cells = self
            .root
            .entry("cells")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !cells.is_array() {
            *cells = Value::Array(Vec::new());
        }
        match cells {
            Value::Array(a) => a,
            _ => unreachable!("cells was just made an array"),
        }
    }

    /// Serializes the notebook the way nbformat does (sorted keys, one-space indent, final newline).
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        // Serializing a Value into memory cannot fail.
        if self.root.serialize(&mut ser).is_err() {
            return String::new();
        }
        let mut text = String::from_utf8(out).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Writes the notebook to `path` atomically (a temporary file renamed over it).
    pub fn write(&self, path: &Path) -> Result<()> {
        fsutil::write_atomic(path, self.to_json().as_bytes(), None)
    }
}

/// The tags of a cell (`metadata.tags`), skipping non-string entries.
pub fn tags(cell: &Value) -> impl Iterator<Item = &str> {
    cell.pointer("/metadata/tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// The number of the first `codenum:N` tag of a cell, if it has a valid one.
pub fn codenum(cell: &Value) -> Option<u32> {
    tags(cell).find_map(|t| t.strip_prefix(CODENUM)?.trim().parse().ok())
}

/// Whether the cell carries any `codenum:` tag at all (even one that is not a number).
pub fn has_codenum_tag(cell: &Value) -> bool {
    tags(cell).any(|t| t.starts_with(CODENUM))
}

/// The `cell_type` of a cell.
pub fn cell_type(cell: &Value) -> &str {
    cell.get("cell_type").and_then(Value::as_str).unwrap_or("")
}

/// The source of a cell as one string (a list of lines is joined).
pub fn source_text(cell: &Value) -> String {
    match cell.get("source") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(lines)) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// Replaces the tags of a cell, creating `metadata` and `tags` when missing.
pub fn set_tags(cell: &mut Value, new_tags: Vec<String>) {
    let Some(obj) = cell.as_object_mut() else {
        return;
    };
    let meta = obj.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    if let Some(meta) = meta.as_object_mut() {
        meta.insert("tags".into(), json!(new_tags));
    }
}

/// A markdown cell with the given id and text.
pub fn markdown_cell(id: &str, text: &str) -> Value {
    json!({"cell_type": "markdown", "id": id, "metadata": {}, "source": split_lines(text)})
}

/// A code cell with no outputs, the given id, source and tags.
pub fn code_cell(id: &str, source: &str, tags: &[String]) -> Value {
    json!({
        "cell_type": "code",
        "execution_count": null,
        "id": id,
        "metadata": {"tags": tags},
        "outputs": [],
        "source": split_lines(source),
    })
}

/// A source as nbformat writes it: a list of lines, each but the last keeping its `\n`.
pub fn split_lines(text: &str) -> Value {
    Value::Array(
        text.split_inclusive('\n')
            .map(|l| Value::String(l.to_owned()))
            .collect(),
    )
}
