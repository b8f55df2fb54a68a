//! The Word export (导出word文件, seed 002): the declaration as a minimal WordprocessingML
//! package (ECMA-376 Part 1) that Word and WPS open, with every field's label and value in
//! one table per section, and a closing signature block to sign and stamp. The signed print is
//! scanned and uploaded on the signature page.

use std::io::{Cursor, Write};

use zip::{write::SimpleFileOptions, CompressionMethod, ZipWriter};

use crate::declaration::{FormDef, Values};

/// What the export says about the declaration besides its values.
pub struct ExportMeta<'a> {
    /// The declarant's unit, when known.
    pub unit: Option<&'a str>,
    /// The declarant's display name.
    pub declarant: &'a str,
    /// The state as users read it, e.g. 草稿.
    pub state: &'a str,
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;

/// The `.docx` bytes of a declaration.
pub fn export(
    form: &FormDef,
    values: &Values,
    meta: &ExportMeta<'_>,
) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("[Content_Types].xml", options)?;
    zip.write_all(CONTENT_TYPES.as_bytes())?;
    zip.start_file("_rels/.rels", options)?;
    zip.write_all(ROOT_RELS.as_bytes())?;
    zip.start_file("word/document.xml", options)?;
    zip.write_all(document_xml(form, values, meta).as_bytes())?;
    Ok(zip.finish()?.into_inner())
}

/// `word/document.xml`: the title, the declarant, a table per section, the signature block.
pub fn document_xml(form: &FormDef, values: &Values, meta: &ExportMeta<'_>) -> String {
    let mut body = String::new();
    body.push_str(&paragraph(&form.title, Style::Title));
    let mut facts = format!("填报人：{}", meta.declarant);
    if let Some(unit) = meta.unit {
        facts.push_str(&format!("　　所属单位：{unit}"));
    }
    facts.push_str(&format!("　　状态：{}", meta.state));
    body.push_str(&paragraph(&facts, Style::Plain));
    for section in &form.sections {
        body.push_str(&paragraph(&section.title, Style::Heading));
        body.push_str(TABLE_START);
        for field in &section.fields {
            let mut value = values.display(&field.key);
            if let (Some(unit), false) = (&field.unit, value.is_empty()) {
                value.push_str(&format!(" {unit}"));
            }
            body.push_str("<w:tr>");
            body.push_str(&cell(&field.label, 2800, true));
            body.push_str(&cell(&value, 6200, false));
            body.push_str("</w:tr>");
        }
        body.push_str("</w:tbl>");
    }
    body.push_str(&paragraph("", Style::Plain));
    body.push_str(&paragraph(
        "本单位承诺以上填报内容及所附材料真实、准确、完整。",
        Style::Plain,
    ));
    body.push_str(&paragraph(
        "法定代表人（签字）：　　　　　　　　单位（盖章）：",
        Style::Plain,
    ));
    body.push_str(&paragraph("日期：　　　　年　　月　　日", Style::Plain));
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="851" w:footer="992" w:gutter="0"/></w:sectPr></w:body></w:document>"#
    )
}

const TABLE_START: &str = r#"<w:tbl><w:tblPr><w:tblW w:w="9000" w:type="dxa"/><w:tblBorders><w:top w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:left w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:bottom w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:right w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:insideH w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:insideV w:val="single" w:sz="4" w:space="0" w:color="000000"/></w:tblBorders></w:tblPr><w:tblGrid><w:gridCol w:w="2800"/><w:gridCol w:w="6200"/></w:tblGrid>"#;

#[derive(Clone, Copy)]
enum Style {
    Title,
    Heading,
    Plain,
}

fn paragraph(text: &str, style: Style) -> String {
    let (ppr, rpr) = match style {
        Style::Title => (
            r#"<w:pPr><w:jc w:val="center"/></w:pPr>"#,
            r#"<w:rPr><w:b/><w:sz w:val="36"/></w:rPr>"#,
        ),
        Style::Heading => (
            "<w:pPr><w:spacing w:before=\"240\"/></w:pPr>",
            r#"<w:rPr><w:b/><w:sz w:val="28"/></w:rPr>"#,
        ),
        Style::Plain => ("", ""),
    };
    format!("<w:p>{ppr}{}</w:p>", runs(text, rpr))
}

fn cell(text: &str, width: u32, bold: bool) -> String {
    let rpr = if bold { "<w:rPr><w:b/></w:rPr>" } else { "" };
    format!(
        r#"<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr><w:p>{}</w:p></w:tc>"#,
        runs(text, rpr)
    )
}

/// One run per line, joined by breaks, so that a multi-line summary keeps its lines.
fn runs(text: &str, rpr: &str) -> String {
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| format!(r#"<w:t xml:space="preserve">{}</w:t>"#, escape(line)))
        .collect();
    format!("<w:r>{rpr}{}</w:r>", lines.join("<w:br/>"))
}

/// XML character data; characters XML 1.0 forbids (most C0 controls) are dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push(' '),
            c if (c as u32) < 0x20 => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::declaration::form;

    #[test]
    fn the_package_opens_and_holds_every_label_and_value() {
        let form = form::builtin("incubator").unwrap().unwrap();
        let values = Values::from_pairs(
            &form,
            [
                ("carrier_name", "津南<创新>孵化器 & 园区"),
                ("incubator_type", "专业"),
                ("services", "创业辅导"),
                ("services", "检验检测"),
                ("total_area", "5000.5"),
                ("summary_overview", "第一行\n第二行"),
            ],
        );
        let meta = ExportMeta {
            unit: Some("天津示例科技孵化器有限公司"),
            declarant: "张三",
            state: "草稿",
        };
        let bytes = export(&form, &values, &meta).unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        for part in ["[Content_Types].xml", "_rels/.rels", "word/document.xml"] {
            assert!(zip.by_name(part).is_ok(), "{part}");
        }
        let mut xml = String::new();
        zip.by_name("word/document.xml")
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        assert!(xml.contains("津南&lt;创新&gt;孵化器 &amp; 园区"));
        assert!(xml.contains("创业辅导、检验检测"));
        assert!(xml.contains("5000.5 平方米"));
        assert!(xml.contains("第一行</w:t><w:br/><w:t xml:space=\"preserve\">第二行"));
        assert!(xml.contains("天津示例科技孵化器有限公司"));
        for field in form.fields() {
            assert!(xml.contains(&escape(&field.label)), "{}", field.label);
        }
        assert!(xml.contains(&form.title));
    }

    #[test]
    fn control_characters_never_break_the_xml() {
        assert_eq!(escape("a\u{1}b\u{FFFF}\"c\""), "ab&quot;c&quot;");
    }
}
