//! `idp scale bench`: p50/p99 of each query the login, directory, legacy and audit paths rely
//! on, over a population written by `idp scale generate` with the same shape. One call at a
//! time on one connection, identifiers drawn from the population (a different account or
//! unit each call), so the figures are the queries' own latencies, not a throughput.
//!
//! Login is timed up to the account lookup (what grows with the data): the argon2id check
//! after it costs the same whatever the population, and would hide the lookup entirely.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use tongyi_shared::{claims::AccountType, org::UnitStatus};

use super::population::{self, Rng, Shape};
use crate::{
    pii::{PiiField, PiiVault},
    store::{self, directory::ReviewCursor, Db, StoreError},
};

/// A path stops after this long even when it has not reached its iterations (deep offset
/// pages on a large population), with at least [`MIN_CALLS`] calls.
const TIME_BUDGET: Duration = Duration::from_secs(8);
const MIN_CALLS: usize = 30;

struct Figures {
    name: &'static str,
    calls: usize,
    p50: Duration,
    p99: Duration,
}

async fn time<F, Fut>(
    name: &'static str,
    iterations: usize,
    mut call: F,
) -> Result<Figures, StoreError>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    // A few calls first to warm the caches and the statement cache.
    for i in 0..10 {
        call(1_000_000 + i)
            .await
            .inspect_err(|e| eprintln!("{name}: {e}"))?;
    }
    let started = Instant::now();
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations as u64 {
        let t = Instant::now();
        call(i)
            .await
            .inspect_err(|e| eprintln!("{name}: call {i}: {e}"))?;
        samples.push(t.elapsed());
        if samples.len() >= MIN_CALLS && started.elapsed() > TIME_BUDGET {
            break;
        }
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Ok(Figures {
        name,
        calls: samples.len(),
        p50: at(0.50),
        p99: at(0.99),
    })
}

/// A login-lookup path: its name, the tab, and the identifier typed for call `i`.
type Lookup<'a> = (&'static str, AccountType, &'a dyn Fn(u64) -> String);

/// Runs every path and returns the table.
pub async fn run(
    db: &Db,
    pii: &PiiVault,
    shape: &Shape,
    iterations: usize,
) -> Result<String, StoreError> {
    let seed = shape.seed;
    let persons = shape.persons.max(1);
    let units = shape.units.max(1);
    let person = |i: u64| Rng::new(seed, 900, i).below(persons);
    let unit = |i: u64| Rng::new(seed, 901, i).below(units);
    let departments: Vec<String> = (0..shape.departments.max(1))
        .map(population::department_id)
        .collect();
    let dept = |i: u64| vec![departments[(i % departments.len() as u64) as usize].clone()];
    let all: &[&str] = &UnitStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>();
    let mut out = Vec::new();

    // Login by each identifier, timed up to the account lookup (argon2 would hide it).
    let login_name = |i| shape.person(person(i)).login_name;
    let mobile = |i| population::mobile(seed, person(i));
    let id_number = |i| population::id_number(seed, person(i));
    let uscc = |i| population::uscc(seed, unit(i));
    let lookups: [Lookup<'_>; 4] = [
        (
            "login lookup: login name",
            AccountType::NaturalPerson,
            &login_name,
        ),
        ("login lookup: mobile", AccountType::NaturalPerson, &mobile),
        (
            "login lookup: ID number",
            AccountType::NaturalPerson,
            &id_number,
        ),
        ("login lookup: USCC", AccountType::LegalEntity, &uscc),
    ];
    for (name, kind, identifier) in lookups {
        out.push(
            time(name, iterations, |i| {
                let typed = identifier(i);
                async move {
                    found(store::identities::find_by_identifier(db, pii, kind, &typed).await?)
                }
            })
            .await?,
        );
    }
    out.push(
        time("claims: grants and roles", iterations, |i| {
            let id = population::person_id(person(i));
            async move { store::accounts::grants_and_roles(db, &id).await.map(drop) }
        })
        .await?,
    );
    out.push(
        time("person completion: unit search by name", iterations, |i| {
            let name = population::unit_name(seed, unit(i));
            async move {
                store::directory::active_units_named(db, &name)
                    .await
                    .map(drop)
            }
        })
        .await?,
    );
    out.push(
        time("review list: pending, page 1 (+count)", iterations, |i| {
            let d = dept(i);
            async move {
                store::directory::units_for_review(db, Some(&d), &["pending_review"], "", 20, 0)
                    .await
                    .map(drop)
            }
        })
        .await?,
    );
    out.push(
        time(
            "review list: all states, name filter, page 1 (+count)",
            iterations,
            |i| {
                let d = dept(i);
                async move {
                    store::directory::units_for_review(db, Some(&d), all, "科技", 20, 0)
                        .await
                        .map(drop)
                }
            },
        )
        .await?,
    );
    // The same filter by keyset, as the API now runs it: no count, but `LIKE '%q%'` cannot use
    // an index, so the page reads the department's units in order until 21 match. A common
    // word fills the page at once; the whole name of one unit (a typical search) reads them all.
    out.push(
        time(
            "review list: all states, name filter, page 1 by keyset",
            iterations,
            |i| {
                let d = dept(i);
                async move {
                    store::directory::units_for_review_after(db, Some(&d), all, "科技", 21, None)
                        .await
                        .map(drop)
                }
            },
        )
        .await?,
    );
    out.push(
        time(
            "review list: all states, one unit's full name, by keyset",
            iterations,
            |i| {
                // A unit never submitted has no department: its search reads department 0.
                let u = shape.unit(unit(i));
                let d = population::department_id(u.department.unwrap_or(0));
                let name = u.name;
                async move {
                    store::directory::units_for_review_after(db, Some(&[d]), all, &name, 21, None)
                        .await
                        .map(drop)
                }
            },
        )
        .await?,
    );
    // The last page of one department's units in all states, by offset and by keyset.
    let (_, dept_total) =
        store::directory::units_for_review(db, Some(&dept(0)), all, "", 1, 0).await?;
    let deep = (dept_total - 20).max(0);
    out.push(
        time(
            "review list: all states, last page by OFFSET (+count)",
            iterations,
            |_| {
                let d = dept(0);
                async move {
                    store::directory::units_for_review(db, Some(&d), all, "", 20, deep)
                        .await
                        .map(drop)
                }
            },
        )
        .await?,
    );
    let cursor =
        store::directory::units_for_review(db, Some(&dept(0)), all, "", 1, (deep - 1).max(0))
            .await?
            .0
            .first()
            .map(ReviewCursor::of);
    out.push(
        time(
            "review list: all states, last page by keyset",
            iterations,
            |_| {
                let (d, c) = (dept(0), cursor.clone());
                async move {
                    store::directory::units_for_review_after(db, Some(&d), all, "", 20, c.as_ref())
                        .await
                        .map(drop)
                }
            },
        )
        .await?,
    );
    out.push(
        time(
            "review list: platform admin, pending, page 1 (+count)",
            iterations,
            |_| async move {
                store::directory::units_for_review(db, None, &["pending_review"], "", 20, 0)
                    .await
                    .map(drop)
            },
        )
        .await?,
    );
    out.push(
        time("review history of a unit", iterations, |i| {
            let id = population::unit_id(unit(i));
            async move { store::directory::history(db, &id).await.map(drop) }
        })
        .await?,
    );
    // Unit 0 is the biggest (about 2% of all persons); a random unit has a few members.
    let big = population::unit_id(0);
    out.push(
        time("members: a random unit, page 1 (+count)", iterations, |i| {
            let id = population::unit_id(unit(i));
            async move {
                store::directory::members(db, &id, "", 20, 0)
                    .await
                    .map(drop)
            }
        })
        .await?,
    );
    out.push(
        time("members: biggest unit, page 1 (+count)", iterations, |_| {
            let id = big.clone();
            async move {
                store::directory::members(db, &id, "", 20, 0)
                    .await
                    .map(drop)
            }
        })
        .await?,
    );
    let (_, members_total) = store::directory::members(db, &big, "", 1, 0).await?;
    let deep_members = (members_total - 20).max(0);
    out.push(
        time(
            "members: biggest unit, last page by OFFSET (+count)",
            iterations,
            |_| {
                let id = big.clone();
                async move {
                    store::directory::members(db, &id, "", 20, deep_members)
                        .await
                        .map(drop)
                }
            },
        )
        .await?,
    );
    let member_cursor = store::directory::members(db, &big, "", 1, (deep_members - 1).max(0))
        .await?
        .0
        .first()
        .map(|a| store::accounts::login_key(&a.login_name));
    out.push(
        time(
            "members: biggest unit, last page by keyset",
            iterations,
            |_| {
                let (id, after) = (big.clone(), member_cursor.clone());
                async move {
                    store::directory::members_after(db, &id, "", 20, after.as_deref())
                        .await
                        .map(drop)
                }
            },
        )
        .await?,
    );
    out.push(
        time("legacy lookup: unit by USCC", iterations, |i| {
            let uscc = population::uscc(seed, unit(i) / 5 * 5 + 1);
            async move { store::legacy::units_by_uscc(db, &uscc).await.map(drop) }
        })
        .await?,
    );
    out.push(
        time("legacy lookup: person by mobile", iterations, |i| {
            let key = pii.lookup_key(
                PiiField::Mobile,
                &population::mobile(seed, person(i) / 10 * 10 + 3),
            );
            async move { store::legacy::persons_by_mobile(db, &key).await.map(drop) }
        })
        .await?,
    );
    out.push(
        time(
            "legacy binding: unbound records by ID number",
            iterations,
            |i| {
                let key = pii.lookup_key(
                    PiiField::IdNumber,
                    &population::id_number(seed, 80_000_000 + person(i) / 10 * 10 + 3),
                );
                async move { store::legacy::unbound_by_document(db, &key).await.map(drop) }
            },
        )
        .await?,
    );
    out.push(
        time("audit: newest 50 entries", iterations, |_| async move {
            store::audit::list_recent(db, 50).await.map(drop)
        })
        .await?,
    );
    out.push(
        time("audit: newest 50 entries of an account", iterations, |i| {
            let id = population::person_id(person(i));
            async move { store::audit::list_for_subject(db, &id, 50).await.map(drop) }
        })
        .await?,
    );

    let mut table = format!(
        "{} persons, {} units, {:?}; one call at a time, µs\n{:<58} {:>9} {:>9} {:>7}\n",
        shape.persons, shape.units, db.backend, "path", "p50", "p99", "calls"
    );
    for f in out {
        table.push_str(&format!(
            "{:<58} {:>9.0} {:>9.0} {:>7}\n",
            f.name,
            f.p50.as_secs_f64() * 1e6,
            f.p99.as_secs_f64() * 1e6,
            f.calls
        ));
    }
    Ok(table)
}

/// A lookup of an identifier the population holds must find its account: a benchmark that
/// times misses would measure nothing.
fn found(account: Option<store::accounts::Account>) -> Result<(), StoreError> {
    match account {
        Some(_) => Ok(()),
        None => Err(StoreError::Db(sqlx::Error::RowNotFound)),
    }
}
