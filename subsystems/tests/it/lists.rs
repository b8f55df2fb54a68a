//! The lists over many declarations: a unit admin's (every declaration of one unit, no
//! other's) and the bureau's (search by unit name and state, 20 a page), on both backends.

use std::collections::HashSet;

use tongyi_subsystems::{
    declaration::{State, Values},
    store::declarations::{self, Filter, ListPage, NewDeclaration, PageRequest, Who, PAGE_SIZE},
};

use crate::{both_backends, harness::TestDb};

const REVIEWER: Who = Who {
    sub: "acct-admin",
    name: "平台管理员",
};

/// The three units of these tests; the third's name holds LIKE's wildcard characters.
const UNITS: [(&str, &str); 3] = [
    ("org-a", "天津甲科技孵化器有限公司"),
    ("org-b", "天津乙众创空间管理有限公司"),
    ("org-c", "滨海丙孵化器 100%_Lab"),
];

async fn declare(t: &TestDb, id: &str, owner: Who<'_>, unit: Option<(&str, &str)>, now: i64) {
    declarations::create(
        &t.db,
        NewDeclaration {
            id,
            form_code: "incubator",
            owner,
            org_id: unit.map(|u| u.0),
            org_name: unit.map(|u| u.1),
            title: id,
            values: &Values::default(),
            now,
        },
    )
    .await
    .unwrap();
}

async fn step(t: &TestDb, id: &str, from: State, to: State, who: Who<'_>, now: i64) {
    let reason = (to == State::Returned).then_some("材料不全");
    assert!(
        declarations::transition(&t.db, id, from, to, who, reason, now)
            .await
            .unwrap()
    );
}

fn page(number: u32) -> PageRequest {
    PageRequest {
        number,
        size: PAGE_SIZE,
    }
}

fn ids(p: &ListPage) -> Vec<&str> {
    p.rows.iter().map(|d| d.id.as_str()).collect()
}

both_backends!(
    a_unit_lists_its_own_declarations_only,
    |backend| async move {
        let t = TestDb::new(backend).await;
        let alice = Who {
            sub: "acct-alice",
            name: "张三",
        };
        let bob = Who {
            sub: "acct-bob",
            name: "李四",
        };
        let carol = Who {
            sub: "acct-carol",
            name: "王五",
        };
        declare(&t, "a-alice", alice, Some(UNITS[0]), 1_000).await;
        declare(&t, "a-bob", bob, Some(UNITS[0]), 2_000).await;
        declare(&t, "b-carol", carol, Some(UNITS[1]), 3_000).await;
        declare(&t, "no-unit", carol, None, 4_000).await;
        step(&t, "a-alice", State::Draft, State::Submitted, alice, 5_000).await;

        let a = declarations::list_for_unit(&t.db, "org-a", Filter::default(), page(1))
            .await
            .unwrap();
        assert_eq!(
            ids(&a),
            ["a-alice", "a-bob"],
            "drafts too, the last changed first"
        );
        assert_eq!((a.total, a.number, a.pages), (2, 1, 1));
        assert_eq!(a.rows[1].owner_name, "李四");
        assert_eq!(a.rows[1].state, State::Draft);
        let b = declarations::list_for_unit(&t.db, "org-b", Filter::default(), page(1))
            .await
            .unwrap();
        assert_eq!(
            ids(&b),
            ["b-carol"],
            "never another unit's, nor one without a unit"
        );
        let none = declarations::list_for_unit(&t.db, "org-c", Filter::default(), page(1))
            .await
            .unwrap();
        assert!(none.rows.is_empty());
        assert_eq!((none.total, none.number, none.pages), (0, 1, 1));

        let drafts = Filter {
            state: Some(State::Draft),
            ..Filter::default()
        };
        let a = declarations::list_for_unit(&t.db, "org-a", drafts, page(1))
            .await
            .unwrap();
        assert_eq!(ids(&a), ["a-bob"]);
        // The unit's own draft is no business of the bureau's.
        let review = declarations::list_for_review(&t.db, Filter::default(), page(1))
            .await
            .unwrap();
        assert_eq!(ids(&review), ["a-alice"]);
    }
);

/// 45 declarations, 5 for each of 3 units × 3 states, submitted one after the other, and a
/// draft per unit, which the bureau never sees.
async fn forty_five(t: &TestDb) {
    for i in 0..45_i64 {
        let (unit, to) = (i % 3, (i / 3) % 3);
        let id = format!("d{i:02}");
        let owner = Who {
            sub: "acct-declarant",
            name: "申报人",
        };
        declare(t, &id, owner, Some(UNITS[unit as usize]), 1_000 + i).await;
        step(t, &id, State::Draft, State::Submitted, owner, 10_000 + i).await;
        match to {
            1 => {
                step(
                    t,
                    &id,
                    State::Submitted,
                    State::Returned,
                    REVIEWER,
                    20_000 + i,
                )
                .await
            }
            2 => {
                step(
                    t,
                    &id,
                    State::Submitted,
                    State::Approved,
                    REVIEWER,
                    20_000 + i,
                )
                .await
            }
            _ => {}
        }
    }
    for (n, unit) in UNITS.into_iter().enumerate() {
        let owner = Who {
            sub: "acct-declarant",
            name: "申报人",
        };
        declare(t, &format!("draft-{n}"), owner, Some(unit), 30_000).await;
    }
}

async fn review(t: &TestDb, unit: Option<&str>, state: Option<State>, p: PageRequest) -> ListPage {
    let filter = Filter {
        unit_name: unit,
        state,
    };
    declarations::list_for_review(&t.db, filter, p)
        .await
        .unwrap()
}

both_backends!(the_review_list_searches_and_pages, |backend| async move {
    let t = TestDb::new(backend).await;
    forty_five(&t).await;

    // 20 a page: 20, 20, 5, each declaration once, none a draft.
    let mut seen = HashSet::new();
    let mut all = Vec::new();
    for n in 1..=3 {
        let p = review(&t, None, None, page(n)).await;
        assert_eq!((p.total, p.number, p.pages), (45, n, 3));
        assert_eq!(p.rows.len(), if n < 3 { 20 } else { 5 }, "page {n}");
        for d in &p.rows {
            assert!(seen.insert(d.id.clone()), "{} twice", d.id);
            assert_ne!(d.state, State::Draft);
        }
        all.extend(p.rows);
    }
    assert_eq!(seen.len(), 45);
    // Those waiting first, each group the last submitted first.
    assert!(all[..15].iter().all(|d| d.state == State::Submitted));
    assert!(all[15..].iter().all(|d| d.state != State::Submitted));
    assert!(all[..15]
        .windows(2)
        .all(|w| w[0].submitted_at > w[1].submitted_at));
    assert!(all[15..]
        .windows(2)
        .all(|w| w[0].submitted_at > w[1].submitted_at));
    assert_eq!(all[0].id, "d38");

    // Beyond the last page: the last page; another page size: other pages.
    let p = review(&t, None, None, page(99)).await;
    assert_eq!((p.number, p.pages, p.rows.len()), (3, 3, 5));
    assert_eq!(ids(&p), ids(&review(&t, None, None, page(3)).await));
    let tens = PageRequest {
        number: 5,
        size: 10,
    };
    let p = review(&t, None, None, tens).await;
    assert_eq!((p.total, p.number, p.pages, p.rows.len()), (45, 5, 5, 5));

    // By state, by unit, by both.
    let p = review(&t, None, Some(State::Returned), page(1)).await;
    assert_eq!((p.total, p.pages, p.rows.len()), (15, 1, 15));
    assert!(p.rows.iter().all(|d| d.state == State::Returned));
    let p = review(&t, None, Some(State::Draft), page(1)).await;
    assert_eq!(p.total, 0, "no drafts, even when asked");
    let p = review(&t, Some("甲科技"), None, page(1)).await;
    assert_eq!(p.total, 15);
    assert!(p.rows.iter().all(|d| d.org_id.as_deref() == Some("org-a")));
    let p = review(&t, Some("乙"), Some(State::Approved), page(1)).await;
    assert_eq!((p.total, p.rows.len()), (5, 5));
    assert!(p
        .rows
        .iter()
        .all(|d| d.org_id.as_deref() == Some("org-b") && d.state == State::Approved));
    let p = review(&t, Some("孵化器"), Some(State::Submitted), page(1)).await;
    assert_eq!(p.total, 10, "甲 and 丙");

    // The search is literal: `%` and `_` are characters, not wildcards; Latin case aside.
    assert_eq!(review(&t, Some("%"), None, page(1)).await.total, 15);
    assert_eq!(review(&t, Some("100%_lab"), None, page(1)).await.total, 15);
    assert_eq!(review(&t, Some("甲_技"), None, page(1)).await.total, 0);
    assert_eq!(review(&t, Some("天津%公司"), None, page(1)).await.total, 0);

    // Nothing found: one empty page.
    let p = review(&t, Some("不存在的单位"), None, page(2)).await;
    assert!(p.rows.is_empty());
    assert_eq!((p.total, p.number, p.pages), (0, 1, 1));
});
