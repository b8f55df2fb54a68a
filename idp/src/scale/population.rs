//! What the generated population looks like: person `i` and unit `k` as pure functions of the
//! seed and the index, so that any part can be recomputed without the rest (a test logs in as
//! person 17 by the mobile it computes here; the benchmark picks identifiers the same way).
//!
//! Unique values (login names, mobiles, ID numbers, USCCs, unit names) come from the index
//! through a bijection (a multiplication modulo the size of the value space by a number prime
//! to it), so they never collide and still look scattered; the rest comes from a small
//! deterministic generator seeded by (seed, kind, index).

use tongyi_shared::{
    claims::{AccountType, RealnameStatus},
    validate::{Mobile, ResidentId, Uscc},
};

/// SplitMix64: tiny, fast, and good enough to pick names and shares.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, kind: u64, index: u64) -> Rng {
        let mut r = Rng(seed ^ kind.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.rotate_left(32));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const KIND_PERSON: u64 = 1;
const KIND_UNIT: u64 = 2;

/// A bijection of `0..modulus` (`factor` must be prime to `modulus`), shifted by the seed.
fn scatter(index: u64, factor: u64, modulus: u64, seed: u64) -> u64 {
    ((index % modulus) as u128 * factor as u128 + (seed % modulus) as u128) as u64 % modulus
}

const SURNAMES: [(&str, &str); 20] = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("赵", "zhao"),
    ("黄", "huang"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("胡", "hu"),
    ("朱", "zhu"),
    ("高", "gao"),
    ("林", "lin"),
    ("何", "he"),
    ("郭", "guo"),
    ("马", "ma"),
    ("罗", "luo"),
];
const GIVEN: [(&str, &str); 24] = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("霞", "xia"),
    ("平", "ping"),
    ("建华", "jianhua"),
    ("志强", "zhiqiang"),
    ("海燕", "haiyan"),
    ("子涵", "zihan"),
];
/// Address codes of Tianjin's districts and a few others (the first six digits of an ID
/// number; also the division part of a USCC).
const REGIONS: [&str; 16] = [
    "120101", "120102", "120103", "120104", "120105", "120106", "120110", "120111", "120112",
    "120113", "120114", "120115", "120116", "110105", "130102", "370102",
];
const MOBILE_PREFIXES: [&str; 24] = [
    "139", "138", "137", "136", "135", "134", "159", "158", "157", "152", "151", "150", "188",
    "187", "186", "185", "183", "182", "178", "177", "176", "199", "189", "181",
];
const CITIES: [&str; 8] = [
    "天津",
    "天津市",
    "天津滨海",
    "天津津南",
    "天津西青",
    "天津武清",
    "天津宝坻",
    "天津东丽",
];
const BRAND_A: [&str; 40] = [
    "华", "中", "盛", "鑫", "泰", "恒", "安", "瑞", "博", "信", "达", "联", "海", "宏", "科", "汇",
    "辰", "星", "远", "嘉", "润", "德", "佳", "光", "成", "正", "新", "天", "国", "金", "通", "和",
    "思", "创", "智", "云", "昊", "元", "弘", "启",
];
const BRAND_B: [&str; 40] = [
    "宇", "龙", "峰", "源", "腾", "航", "景", "川", "越", "晟", "轩", "澜", "阳", "锐", "途", "业",
    "朗", "诚", "卓", "维", "驰", "凯", "捷", "邦", "迪", "策", "雅", "悦", "合", "晖", "域", "拓",
    "迈", "鸿", "睿", "泽", "然", "远", "坤", "禾",
];
const TRADES: [&str; 16] = [
    "科技",
    "信息技术",
    "生物医药",
    "新材料",
    "智能装备",
    "软件",
    "电子",
    "环保科技",
    "新能源",
    "网络科技",
    "医疗器械",
    "数据科技",
    "机器人",
    "检测技术",
    "化工科技",
    "文化科技",
];
const SUFFIXES: [&str; 4] = ["有限公司", "股份有限公司", "有限责任公司", "发展有限公司"];
/// Mixed radix of the unit names: every index below it gets its own name.
const NAME_SPACE: u64 =
    (CITIES.len() * BRAND_A.len() * BRAND_B.len() * TRADES.len() * SUFFIXES.len()) as u64;

/// The subsystems units are enabled for (the demo's codes and two more).
pub const SUBSYSTEMS: [&str; 4] = ["incubator", "makerspace", "tech_sme", "hightech"];

/// Units in each status, in percent (the first unit is always active).
const UNIT_STATUS_SHARES: [(&str, u64); 5] = [
    ("active", 70),
    ("pending_review", 10),
    ("returned", 7),
    ("registered", 8),
    ("suspended", 5),
];

/// The generated population's shape.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub seed: u64,
    pub persons: u64,
    pub units: u64,
    pub departments: u64,
}

/// A generated natural person (values in clear; the generator seals them).
#[derive(Clone, Debug)]
pub struct Person {
    pub id: String,
    pub login_name: String,
    pub display_name: String,
    pub mobile: String,
    pub email: Option<String>,
    pub id_number: String,
    pub gender: &'static str,
    pub ethnicity: &'static str,
    pub realname_status: RealnameStatus,
    /// (unit index, `member` | `pending`)
    pub membership: Option<(u64, &'static str)>,
    pub grants: Vec<String>,
    /// Seconds before "now" of its last login (the audit entry).
    pub last_login_ago: i64,
    /// Whether a legacy record of the old system belongs to this person (kept login).
    pub has_legacy_record: bool,
}

/// A generated unit with its legal-entity account.
#[derive(Clone, Debug)]
pub struct Unit {
    pub id: String,
    pub account_id: String,
    pub login_name: String,
    pub name: String,
    pub uscc: String,
    pub status: &'static str,
    pub department: Option<u64>,
    /// Seconds before "now" of its (last) submission.
    pub submitted_ago: Option<i64>,
    pub subsystems: Vec<String>,
    pub legal_rep: (String, String, String),
    pub agent: (String, String, String),
    pub has_legacy_record: bool,
}

pub fn person_id(i: u64) -> String {
    format!("scale-p{i:07}")
}

pub fn unit_id(k: u64) -> String {
    format!("scale-u{k:06}")
}

pub fn department_id(d: u64) -> String {
    format!("scale-dept-{d:02}")
}

pub fn department_name(d: u64) -> String {
    format!("天津市科学技术局 第{}审核处", d + 1)
}

pub fn reviewer_login(d: u64) -> String {
    format!("scale_reviewer{d:02}")
}

pub fn reviewer_id(d: u64) -> String {
    format!("scale-r{d:02}")
}

pub const PLATFORM_ADMIN_LOGIN: &str = "scale_admin";
pub const PLATFORM_ADMIN_ID: &str = "scale-admin";

/// The `i`-th 11-digit mobile of the scheme (persons use `0..N`, unit agents and legacy
/// records other ranges).
pub fn mobile(seed: u64, i: u64) -> String {
    let n = MOBILE_PREFIXES.len() as u64;
    let prefix = MOBILE_PREFIXES[(i % n) as usize];
    let rest = scatter(i / n, 48_271, 100_000_000, seed);
    let m = format!("{prefix}{rest:08}");
    debug_assert!(Mobile::parse(&m).is_ok(), "{m}");
    m
}

/// The `i`-th resident ID number: a real address code, a birth date between 1950 and 2004,
/// a sequence number and the GB 11643 check character.
pub fn id_number(seed: u64, i: u64) -> String {
    const DAYS: u64 = 55 * 12 * 28;
    let n = REGIONS.len() as u64;
    let region = REGIONS[(i % n) as usize];
    let j = scatter(i / n, 1_000_003, DAYS * 1000, seed);
    let (seq, rest) = (j % 1000, j / 1000);
    let (day, month, year) = (rest % 28 + 1, rest / 28 % 12 + 1, 1950 + rest / 336);
    let first17 = format!("{region}{year:04}{month:02}{day:02}{seq:03}");
    ResidentId::completing(&first17)
        .expect("a valid ID number by construction")
        .as_str()
        .to_owned()
}

/// The `k`-th USCC: authority 9 (market regulation), type 1 (enterprise), a real division,
/// nine scattered code characters and the GB 32100 check character.
pub fn uscc(seed: u64, k: u64) -> String {
    const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let n = REGIONS.len() as u64;
    let mut j = scatter(k / n, 1_000_003, 31u64.pow(9), seed);
    let mut code = [0u8; 9];
    for c in code.iter_mut().rev() {
        *c = CHARSET[(j % 31) as usize];
        j /= 31;
    }
    let first17 = format!(
        "91{}{}",
        REGIONS[(k % n) as usize],
        std::str::from_utf8(&code).expect("ASCII")
    );
    Uscc::completing(&first17)
        .expect("a valid USCC by construction")
        .as_str()
        .to_owned()
}

/// The `k`-th unit name (unique below [`NAME_SPACE`]), e.g. 天津滨海华宇科技有限公司.
pub fn unit_name(seed: u64, k: u64) -> String {
    let mut j = scatter(k, 1_000_003, NAME_SPACE, seed);
    let mut digit = |n: usize| {
        let d = (j % n as u64) as usize;
        j /= n as u64;
        d
    };
    let suffix = SUFFIXES[digit(SUFFIXES.len())];
    let trade = TRADES[digit(TRADES.len())];
    let b = BRAND_B[digit(BRAND_B.len())];
    let a = BRAND_A[digit(BRAND_A.len())];
    let city = CITIES[digit(CITIES.len())];
    let name = format!("{city}{a}{b}{trade}{suffix}");
    if k < NAME_SPACE {
        name
    } else {
        // Beyond the name space (more than 800,000 units): a branch number keeps it unique.
        format!("{name}（{}分公司）", k / NAME_SPACE)
    }
}

fn status_of_unit(seed: u64, k: u64) -> &'static str {
    if k == 0 {
        return "active";
    }
    let mut r = Rng::new(seed, KIND_UNIT + 100, k);
    let mut roll = r.below(100);
    for (status, share) in UNIT_STATUS_SHARES {
        if roll < share {
            return status;
        }
        roll -= share;
    }
    "active"
}

impl Shape {
    pub fn person(&self, i: u64) -> Person {
        let mut r = Rng::new(self.seed, KIND_PERSON, i);
        let (surname, surname_py) = *r.pick(&SURNAMES);
        let (given, given_py) = *r.pick(&GIVEN);
        let login_name = format!("{surname_py}{given_py}{i}");
        let id_number = id_number(self.seed, i);
        // The 17th digit: odd for men (GB/T 2261.1 code 1), even for women (2).
        let gender = if (id_number.as_bytes()[16] - b'0') % 2 == 1 {
            "1"
        } else {
            "2"
        };
        // Mostly 汉族 (01), as in the census; a few others.
        let ethnicity = if r.percent(91) {
            "01"
        } else {
            *r.pick(&["02", "03", "04", "05", "08", "11"])
        };
        let realname_status = match r.below(100) {
            0..=84 => RealnameStatus::Verified,
            85..=94 => RealnameStatus::Unverified,
            95..=97 => RealnameStatus::PendingReview,
            _ => RealnameStatus::Failed,
        };
        let email = r
            .percent(30)
            .then(|| format!("{login_name}@mail.example.cn"));
        // 60% belong to a unit; big units are few (a cube skews towards the first ones), and
        // only active units take members.
        let membership = if self.units > 0 && r.percent(60) {
            let k = ((r.unit().powi(3)) * self.units as f64) as u64 % self.units;
            (status_of_unit(self.seed, k) == "active")
                .then(|| (k, if r.percent(90) { "member" } else { "pending" }))
        } else {
            None
        };
        let grants = match membership {
            Some((k, "member")) => self
                .unit_subsystems(k)
                .into_iter()
                .filter(|_| r.percent(60))
                .collect(),
            _ => Vec::new(),
        };
        Person {
            id: person_id(i),
            login_name,
            display_name: format!("{surname}{given}"),
            mobile: mobile(self.seed, i),
            email,
            id_number,
            gender,
            ethnicity,
            realname_status,
            membership,
            grants,
            last_login_ago: r.below(90 * 86_400) as i64,
            has_legacy_record: i % 10 == 3,
        }
    }

    fn unit_subsystems(&self, k: u64) -> Vec<String> {
        let mut r = Rng::new(self.seed, KIND_UNIT + 200, k);
        let mut codes: Vec<String> = SUBSYSTEMS
            .iter()
            .filter(|_| r.percent(50))
            .map(|s| s.to_string())
            .collect();
        if codes.is_empty() {
            codes.push(SUBSYSTEMS[0].to_owned());
        }
        codes
    }

    pub fn unit(&self, k: u64) -> Unit {
        let mut r = Rng::new(self.seed, KIND_UNIT, k);
        let status = status_of_unit(self.seed, k);
        let submitted = status != "registered";
        // Agents and legal representatives draw ID numbers and mobiles from ranges persons
        // do not use.
        let person_in = |n: u64, r: &mut Rng| {
            let (s, _) = *r.pick(&SURNAMES);
            let (g, _) = *r.pick(&GIVEN);
            (
                format!("{s}{g}"),
                id_number(self.seed, 50_000_000 + n),
                mobile(self.seed, 50_000_000 + n),
            )
        };
        let legal_rep = person_in(2 * k, &mut r);
        let agent = person_in(2 * k + 1, &mut r);
        Unit {
            id: unit_id(k),
            account_id: format!("scale-a{k:06}"),
            login_name: format!("dw{k:06}"),
            name: unit_name(self.seed, k),
            uscc: uscc(self.seed, k),
            status,
            department: submitted.then(|| k % self.departments.max(1)),
            submitted_ago: submitted.then(|| r.below(2 * 365 * 86_400) as i64),
            subsystems: self.unit_subsystems(k),
            legal_rep,
            agent,
            has_legacy_record: k % 5 == 1,
        }
    }

    /// The review decisions behind a unit's status, oldest first: (action, from, to).
    pub fn review_history(&self, u: &Unit) -> Vec<(&'static str, &'static str, &'static str)> {
        let submit = ("submit", "registered", "pending_review");
        let approve = ("approve", "pending_review", "active");
        let ret = ("return", "pending_review", "returned");
        let resubmit = ("submit", "returned", "pending_review");
        let returned_once = u.id.ends_with('7');
        let mut h = match u.status {
            "registered" => vec![],
            "pending_review" => vec![submit],
            "returned" => vec![submit, ret],
            _ => vec![submit, approve],
        };
        if returned_once && u.status != "registered" {
            h.splice(1..1, [ret, resubmit]);
        }
        if u.status == "suspended" {
            h.push(("suspend", "active", "suspended"));
        }
        h
    }
}

/// Which account type a generated login name belongs to.
pub fn account_type_of_login(login: &str) -> AccountType {
    if login.starts_with("dw") {
        AccountType::LegalEntity
    } else {
        AccountType::NaturalPerson
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn unique_values_are_valid_and_distinct() {
        let mut seen = HashSet::new();
        for i in 0..20_000 {
            for v in [mobile(7, i), id_number(7, i), uscc(7, i), unit_name(7, i)] {
                assert!(seen.insert(v.clone()), "{v} twice");
            }
        }
        for i in (0..20_000).step_by(97) {
            assert!(Mobile::parse(&mobile(7, i)).is_ok());
            assert!(ResidentId::parse(&id_number(7, i)).is_ok());
            assert!(Uscc::parse(&uscc(7, i)).is_ok());
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_population() {
        let shape = Shape {
            seed: 42,
            persons: 1000,
            units: 100,
            departments: 4,
        };
        let other = Shape { seed: 43, ..shape };
        assert_eq!(shape.person(5).mobile, shape.person(5).mobile);
        assert_eq!(shape.person(5).login_name, shape.person(5).login_name);
        assert_eq!(shape.unit(9).name, shape.unit(9).name);
        assert_ne!(shape.person(5).mobile, other.person(5).mobile);
    }
}
