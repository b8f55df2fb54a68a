//! The scale fixture (`idp scale generate`, issue 18): what it writes passes the login and
//! directory paths like registered data does, and the keyset pages of the long lists return
//! every row exactly once, also while rows are inserted between pages.

use std::net::{IpAddr, Ipv4Addr};

use tongyi_idp::{
    accounts::{
        login::{password_login, PasswordLogin},
        password,
    },
    directory::{membership, review, Actor},
    scale::{
        generate::{generate, Options},
        population::{self, Shape},
    },
    store::{
        self,
        directory::{ReviewCursor, ReviewEntry},
    },
};
use tongyi_shared::claims::AccountType;

use crate::{
    both_backends,
    harness::{authorize_as, browser, Backend, TestIdp, PASSWORD},
    proto::code_request,
};

const SHAPE: Shape = Shape {
    seed: 7,
    persons: 400,
    units: 40,
    departments: 3,
};

async fn generated(backend: Backend) -> TestIdp {
    let idp = TestIdp::start(backend).await;
    let cfg = idp.state.config.login.clone();
    let password_hash =
        tokio::task::spawn_blocking(move || password::hash_blocking(PASSWORD, &cfg))
            .await
            .unwrap()
            .unwrap();
    let options = Options {
        shape: SHAPE,
        password_hash,
        batch: 150,
        now: idp.state.clock.now(),
    };
    let report = generate(&idp.state.db, &idp.state.pii, &options, |_| {})
        .await
        .expect("the population is written");
    assert_eq!((report.persons, report.units), (400, 40));
    idp
}

async fn actor(idp: &TestIdp, account_id: &str) -> Actor {
    let account = store::accounts::find_by_id(&idp.state.db, account_id)
        .await
        .unwrap()
        .expect("a generated account");
    let roles = store::accounts::roles(&idp.state.db, account_id)
        .await
        .unwrap();
    Actor { account, roles }
}

fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 18, 0, n))
}

both_backends!(
    generated_accounts_log_in_by_every_identifier,
    |backend: Backend| async move {
        let idp = generated(backend).await;
        let state = &idp.state;
        for i in [0, 17, 399] {
            let p = SHAPE.person(i);
            for identifier in [&p.login_name, &p.mobile, &p.id_number] {
                let attempt =
                    PasswordLogin::on_tab(AccountType::NaturalPerson, identifier, PASSWORD, ip(1));
                let account = password_login(state, &attempt)
                    .await
                    .unwrap_or_else(|e| panic!("person {i} by {identifier}: {e:?}"));
                assert_eq!(account.id, p.id, "{identifier}");
            }
        }
        for k in [0, 39] {
            let u = SHAPE.unit(k);
            let attempt = PasswordLogin::on_tab(AccountType::LegalEntity, &u.uscc, PASSWORD, ip(2));
            let account = password_login(state, &attempt)
                .await
                .unwrap_or_else(|e| panic!("unit {k} by USCC: {e:?}"));
            assert_eq!(account.id, u.account_id);
            assert_eq!(account.org.map(|o| o.id), Some(u.id));
        }
        // A wrong password still fails: the shared hash is a real argon2id hash.
        let p = SHAPE.person(5);
        let wrong =
            PasswordLogin::on_tab(AccountType::NaturalPerson, &p.mobile, "Wrong#Pass1", ip(3));
        assert!(password_login(state, &wrong).await.is_err());
        // And through the login page, as a browser does.
        let req = code_request(&idp, "rp-basic", &[]);
        let redirect = authorize_as(
            &browser(),
            &idp.base,
            &req.url,
            &SHAPE.person(42).login_name,
        )
        .await;
        assert_eq!(redirect.host_str(), Some("rp-basic.test"));
    }
);

both_backends!(
    generated_units_show_in_search_review_and_members,
    |backend: Backend| async move {
        let idp = generated(backend).await;
        let state = &idp.state;
        // Person completion finds an active generated unit by its full name.
        let unit0 = SHAPE.unit(0);
        assert_eq!(unit0.status, "active");
        let found = membership::search_active(state, &unit0.name).await.unwrap();
        assert_eq!(
            found.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
            [unit0.id.as_str()]
        );
        // The department review list: each reviewer sees exactly the units of the
        // generated population in their department and state.
        for d in 0..SHAPE.departments {
            let reviewer = actor(&idp, &population::reviewer_id(d)).await;
            let page = review::list_for_review(state, &reviewer, "all", "", 1)
                .await
                .unwrap();
            let expected: Vec<String> = (0..SHAPE.units)
                .map(|k| SHAPE.unit(k))
                .filter(|u| u.department == Some(d))
                .map(|u| u.id)
                .collect();
            assert_eq!(page.total, expected.len() as i64, "department {d}");
            assert!(!page.units.is_empty());
            for u in &page.units {
                assert!(expected.contains(&u.id), "{} in department {d}", u.id);
                assert_eq!(u.department_id, Some(population::department_id(d)));
                assert!(u.submitted_at.is_some());
            }
            // Their review history is there too, in order, and ends in the unit's state.
            let first = &page.units[0];
            let history = store::directory::history(&state.db, &first.id)
                .await
                .unwrap();
            assert_eq!(
                history.last().map(|e| e.to_status.as_str()),
                Some(first.status.as_str())
            );
            assert_eq!(history[0].action, "submit");
        }
        let pending = actor(&idp, &population::reviewer_id(0)).await;
        let page = review::list_for_review(state, &pending, "pending_review", "", 1)
            .await
            .unwrap();
        assert!(page.units.iter().all(|u| u.status == "pending_review"));
        // The keyset list's first page is the offset list's (submitted units, same order).
        let keyset = review::list_for_review_after(state, &pending, "pending_review", "", None)
            .await
            .unwrap();
        assert_eq!(
            keyset.items.iter().map(|u| &u.id).collect::<Vec<_>>(),
            page.units.iter().map(|u| &u.id).collect::<Vec<_>>()
        );
        // The unit admin's members list shows the generated members of unit 0.
        let admin = actor(&idp, &unit0.account_id).await;
        let members: Vec<String> = (0..SHAPE.persons)
            .map(|i| SHAPE.person(i))
            .filter(|p| p.membership.map(|(k, _)| k) == Some(0))
            .map(|p| p.id)
            .collect();
        assert!(
            members.len() > 20,
            "unit 0 is the big one: {}",
            members.len()
        );
        let page = membership::members(state, &admin, &unit0.id, "", 1)
            .await
            .unwrap();
        assert_eq!(page.total, members.len() as i64);
        assert_eq!(page.members.len(), 20);
        for m in &page.members {
            assert!(members.contains(&m.account.id));
        }
        let second = membership::members(state, &admin, &unit0.id, "", 2)
            .await
            .unwrap();
        let last = store::accounts::login_key(&page.members[19].account.login_name);
        let keyset = membership::members_after(state, &admin, &unit0.id, "", Some(&last))
            .await
            .unwrap();
        assert_eq!(
            keyset
                .items
                .iter()
                .map(|m| &m.account.id)
                .collect::<Vec<_>>(),
            second
                .members
                .iter()
                .map(|m| &m.account.id)
                .collect::<Vec<_>>()
        );
        // Legacy lookup: a unit record by USCC, a person's kept record by mobile.
        let u1 = SHAPE.unit(1);
        assert!(u1.has_legacy_record);
        let records = store::legacy::units_by_uscc(&state.db, &u1.uscc)
            .await
            .unwrap();
        assert_eq!(records.len(), 1);
        let p3 = SHAPE.person(3);
        let key = state
            .pii
            .lookup_key(tongyi_idp::pii::PiiField::Mobile, &p3.mobile);
        let records = store::legacy::persons_by_mobile(&state.db, &key)
            .await
            .unwrap();
        assert_eq!(records.len(), 1);
    }
);

// Pages through the review list of every state and department by keyset, inserting a unit
// (newer than all, older than all, and between the pages) before each page.
both_backends!(
    review_keyset_pages_return_every_unit_once_while_units_are_added,
    |backend: Backend| async move {
        let idp = generated(backend).await;
        let db = &idp.state.db;
        let all = [
            "registered",
            "pending_review",
            "active",
            "returned",
            "suspended",
        ];
        let (_, total) = store::directory::units_for_review(db, None, &all, "", 1, 0)
            .await
            .unwrap();
        let before: Vec<String> = {
            let (units, _) = store::directory::units_for_review(db, None, &all, "", total + 100, 0)
                .await
                .unwrap();
            units.into_iter().map(|u| u.id).collect()
        };
        assert_eq!(before.len() as i64, total);
        let mut seen: Vec<String> = Vec::new();
        let mut cursor: Option<ReviewCursor> = None;
        let mut added = 0;
        for pages in 0.. {
            assert!(pages < 200, "the pages never end");
            // A unit submitted now (sorts first), one never submitted (sorts last), and one
            // submitted at the cursor's own time (sorts right around it); during the first
            // pages only, or units added after the cursor would keep the list going for ever.
            let at = cursor.as_ref().and_then(|c| c.submitted_at);
            for submitted_at in [Some(idp.state.clock.now() + 10), None, at] {
                if pages >= 5 {
                    continue;
                }
                insert_unit(&idp, added, submitted_at).await;
                added += 1;
            }
            let page =
                store::directory::units_for_review_after(db, None, &all, "", 7, cursor.as_ref())
                    .await
                    .unwrap();
            let Some(last) = page.last() else { break };
            cursor = Some(ReviewCursor::of(last));
            seen.extend(page.into_iter().map(|u| u.id));
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "a unit came twice");
        for id in &before {
            assert!(seen.contains(id), "{id} was skipped");
        }
        // The pages are in the list's order: newest first, never-submitted last.
        let order: Vec<Option<i64>> = {
            let mut v = Vec::new();
            for id in &seen {
                v.push(
                    store::directory::find_unit(db, id)
                        .await
                        .unwrap()
                        .unwrap()
                        .submitted_at,
                );
            }
            v
        };
        let submitted: Vec<i64> = order.iter().map_while(|s| *s).collect();
        assert!(submitted.windows(2).all(|w| w[0] >= w[1]), "newest first");
        assert!(order[submitted.len()..].iter().all(Option::is_none));
    }
);

async fn insert_unit(idp: &TestIdp, n: usize, submitted_at: Option<i64>) {
    let db = &idp.state.db;
    let id = format!("late-{n}");
    store::accounts::ensure_org(
        db,
        &store::accounts::NewOrg {
            id: id.clone(),
            name: format!("天津后来单位{n}有限公司"),
            uscc: None,
            status: tongyi_shared::org::UnitStatus::Registered,
        },
        0,
    )
    .await
    .unwrap();
    if let Some(at) = submitted_at {
        let entry = ReviewEntry {
            id: 0,
            org_id: id,
            actor_account_id: "acct-unit".into(),
            action: "submit".into(),
            from_status: "registered".into(),
            to_status: "pending_review".into(),
            department_id: None,
            reason: None,
            at,
        };
        let dept = population::department_id(0);
        assert!(
            store::directory::transition(db, &["registered"], &entry, Some(&dept))
                .await
                .unwrap()
        );
    }
}

// Pages through the biggest unit's members by keyset, adding a member before each page
// (one whose login name sorts first, one last, and one right after the cursor).
both_backends!(
    member_keyset_pages_return_every_member_once_while_members_join,
    |backend: Backend| async move {
        let idp = generated(backend).await;
        let db = &idp.state.db;
        let org = population::unit_id(0);
        let (_, total) = store::directory::members(db, &org, "", 1, 0).await.unwrap();
        let (all, _) = store::directory::members(db, &org, "", total + 10, 0)
            .await
            .unwrap();
        let before: Vec<String> = all.into_iter().map(|a| a.id).collect();
        assert!(before.len() > 20);
        let mut seen: Vec<String> = Vec::new();
        let mut after: Option<String> = None;
        let mut added = 0;
        for pages in 0.. {
            assert!(pages < 200, "the pages never end");
            // Members join during the first pages only: rows added after the cursor on every
            // page would keep the list going for ever.
            let cursor_next = after
                .as_deref()
                .map(|k| format!("{k}_"))
                .unwrap_or_default();
            for name in ["aaaa_new", "zzzz_new", cursor_next.as_str()] {
                if pages >= 5 || name.is_empty() {
                    continue;
                }
                let login = format!("{name}{added}");
                join(&idp, &login, &org, added).await;
                added += 1;
            }
            let page = store::directory::members_after(db, &org, "", 6, after.as_deref())
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some(store::accounts::login_key(&last.login_name));
            seen.extend(page.into_iter().map(|a| a.id));
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "a member came twice");
        for id in &before {
            assert!(seen.contains(id), "{id} was skipped");
        }
    }
);

async fn join(idp: &TestIdp, login: &str, org: &str, n: usize) {
    crate::keyset_api::member(idp, &format!("joined-{n}"), login, "新成员", org, true).await;
}
