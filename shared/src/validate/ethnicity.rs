//! 民族: the ethnic groups of China as GB/T 3304 codes them, for the person identity form.
//!
//! Ethnicity is sensitive personal information under the PIPL (art. 28): callers store it
//! sealed and keep it out of tokens, claims, logs and the directory API.

/// The 56 ethnic groups in the order and with the two-digit numeric codes of GB/T 3304, then
/// 其他 with the standard's code 97 (其他未识别民族). The standard's 98 (外国血统中国籍人士)
/// is not offered: such a person chooses 其他. Every code has two digits, so that a sealed
/// value's length does not tell which group it is.
pub const ETHNIC_GROUPS: [(&str, &str); 57] = [
    ("01", "汉族"),
    ("02", "蒙古族"),
    ("03", "回族"),
    ("04", "藏族"),
    ("05", "维吾尔族"),
    ("06", "苗族"),
    ("07", "彝族"),
    ("08", "壮族"),
    ("09", "布依族"),
    ("10", "朝鲜族"),
    ("11", "满族"),
    ("12", "侗族"),
    ("13", "瑶族"),
    ("14", "白族"),
    ("15", "土家族"),
    ("16", "哈尼族"),
    ("17", "哈萨克族"),
    ("18", "傣族"),
    ("19", "黎族"),
    ("20", "傈僳族"),
    ("21", "佤族"),
    ("22", "畲族"),
    ("23", "高山族"),
    ("24", "拉祜族"),
    ("25", "水族"),
    ("26", "东乡族"),
    ("27", "纳西族"),
    ("28", "景颇族"),
    ("29", "柯尔克孜族"),
    ("30", "土族"),
    ("31", "达斡尔族"),
    ("32", "仫佬族"),
    ("33", "羌族"),
    ("34", "布朗族"),
    ("35", "撒拉族"),
    ("36", "毛南族"),
    ("37", "仡佬族"),
    ("38", "锡伯族"),
    ("39", "阿昌族"),
    ("40", "普米族"),
    ("41", "塔吉克族"),
    ("42", "怒族"),
    ("43", "乌孜别克族"),
    ("44", "俄罗斯族"),
    ("45", "鄂温克族"),
    ("46", "德昂族"),
    ("47", "保安族"),
    ("48", "裕固族"),
    ("49", "京族"),
    ("50", "塔塔尔族"),
    ("51", "独龙族"),
    ("52", "鄂伦春族"),
    ("53", "赫哲族"),
    ("54", "门巴族"),
    ("55", "珞巴族"),
    ("56", "基诺族"),
    ("97", "其他"),
];

/// One entry of [`ETHNIC_GROUPS`]; the only way to get one is from a listed code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ethnicity(usize);

impl Ethnicity {
    /// The entry with that code (surrounding blanks ignored); `None` for any other text.
    pub fn from_code(code: &str) -> Option<Ethnicity> {
        let code = code.trim();
        ETHNIC_GROUPS
            .iter()
            .position(|(c, _)| *c == code)
            .map(Ethnicity)
    }

    /// The GB/T 3304 code, e.g. `"01"`.
    pub fn code(self) -> &'static str {
        ETHNIC_GROUPS[self.0].0
    }

    /// The name, e.g. `"汉族"`.
    pub fn label(self) -> &'static str {
        ETHNIC_GROUPS[self.0].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifty_six_groups_and_other_in_standard_order() {
        assert_eq!(ETHNIC_GROUPS.len(), 56 + 1);
        let groups: Vec<_> = ETHNIC_GROUPS.iter().filter(|(_, n)| *n != "其他").collect();
        assert_eq!(groups.len(), 56);
        for (i, (code, name)) in groups.iter().enumerate() {
            assert_eq!(*code, format!("{:02}", i + 1), "{name}");
            assert!(name.ends_with('族'), "{name}");
        }
        assert_eq!(ETHNIC_GROUPS[0], ("01", "汉族"));
        assert_eq!(ETHNIC_GROUPS[55], ("56", "基诺族"));
        assert_eq!(ETHNIC_GROUPS[56], ("97", "其他"));
        let mut names: Vec<_> = ETHNIC_GROUPS.iter().map(|(_, n)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 57, "no name twice");
        assert!(ETHNIC_GROUPS.iter().all(|(c, _)| c.len() == 2));
    }

    #[test]
    fn only_listed_codes_parse() {
        let e = Ethnicity::from_code(" 03 ").unwrap();
        assert_eq!((e.code(), e.label()), ("03", "回族"));
        assert_eq!(Ethnicity::from_code("97").unwrap().label(), "其他");
        for bad in ["", "00", "3", "57", "98", "99", "汉族", "01x"] {
            assert_eq!(Ethnicity::from_code(bad), None, "{bad:?}");
        }
    }
}
