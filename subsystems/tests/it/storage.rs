use std::{io, path::Path};

use axum::body::Bytes;
use tongyi_subsystems::{
    declaration::{form, FileType, State, Values},
    files::{
        self, BoxFuture, ChunkSource, FileReader, FileStore, LocalDir, StagedFile, UploadError,
        MAX_FILE_BYTES,
    },
    store::{
        attachments::{self, AddError, NewAttachment},
        declarations::{self, Filter, NewDeclaration, PageRequest, Who},
    },
};

use crate::{both_backends, harness::TestDb};

const ALICE: Who = Who {
    sub: "acct-alice",
    name: "张三",
};
const REVIEWER: Who = Who {
    sub: "acct-admin",
    name: "平台管理员",
};

const FIRST_PAGE: PageRequest = PageRequest {
    number: 1,
    size: declarations::PAGE_SIZE,
};

struct Chunks(std::vec::IntoIter<Bytes>);

impl Chunks {
    fn of(data: &[u8]) -> Chunks {
        Chunks(
            data.chunks(64 * 1024)
                .map(Bytes::copy_from_slice)
                .collect::<Vec<_>>()
                .into_iter(),
        )
    }
}

impl ChunkSource for Chunks {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, UploadError> {
        Ok(self.0.next())
    }
}

fn pdf(len: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.4\n".to_vec();
    v.resize(len, b'.');
    v
}

async fn new_draft(t: &TestDb, id: &str, title: &str) {
    let form = form::builtin("incubator").unwrap().unwrap();
    let values = Values::from_pairs(&form, [("carrier_name", title), ("incubator_type", "专业")]);
    declarations::create(
        &t.db,
        NewDeclaration {
            id,
            form_code: "incubator",
            owner: ALICE,
            org_id: Some("org-1"),
            org_name: Some("天津示例科技孵化器有限公司"),
            title,
            values: &values,
            now: 1_000,
        },
    )
    .await
    .unwrap();
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
        .count()
}

both_backends!(declarations_and_their_history, |backend| async move {
    let t = TestDb::new(backend).await;
    new_draft(&t, "d1", "津南孵化器").await;
    new_draft(&t, "d2", "草稿二").await;
    let d = declarations::get(&t.db, "d1").await.unwrap().unwrap();
    assert_eq!(d.state, State::Draft);
    assert_eq!(d.values.get("incubator_type"), "专业");
    assert_eq!(d.org_name.as_deref(), Some("天津示例科技孵化器有限公司"));

    let form = form::builtin("incubator").unwrap().unwrap();
    let changed = Values::from_pairs(&form, [("carrier_name", "津南创新孵化器")]);
    assert!(
        declarations::save_values(&t.db, "d1", ALICE.sub, "津南创新孵化器", &changed, 2_000)
            .await
            .unwrap()
    );
    assert!(
        !declarations::save_values(&t.db, "d1", "acct-mallory", "x", &changed, 2_000)
            .await
            .unwrap(),
        "only the owner saves"
    );
    let mine = declarations::list_by_owner(&t.db, ALICE.sub).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].id, "d1", "the last changed first");
    assert!(declarations::list_by_owner(&t.db, "acct-other")
        .await
        .unwrap()
        .is_empty());
    assert!(
        declarations::list_for_review(&t.db, Filter::default(), FIRST_PAGE)
            .await
            .unwrap()
            .rows
            .is_empty(),
        "drafts are not the bureau's"
    );

    assert!(declarations::transition(
        &t.db,
        "d1",
        State::Draft,
        State::Submitted,
        ALICE,
        None,
        3_000
    )
    .await
    .unwrap());
    // Locked after submit: no save, and a second submit from a stale page changes nothing.
    assert!(
        !declarations::save_values(&t.db, "d1", ALICE.sub, "x", &Values::default(), 3_100)
            .await
            .unwrap()
    );
    assert!(!declarations::transition(
        &t.db,
        "d1",
        State::Draft,
        State::Submitted,
        ALICE,
        None,
        3_100
    )
    .await
    .unwrap());
    let review = declarations::list_for_review(&t.db, Filter::default(), FIRST_PAGE)
        .await
        .unwrap()
        .rows;
    assert_eq!(review.len(), 1);
    assert_eq!(review[0].submitted_at, Some(3_000));

    assert!(declarations::transition(
        &t.db,
        "d1",
        State::Submitted,
        State::Returned,
        REVIEWER,
        Some("面积数据有误"),
        4_000
    )
    .await
    .unwrap());
    let d = declarations::get(&t.db, "d1").await.unwrap().unwrap();
    assert_eq!(d.state, State::Returned);
    assert_eq!(d.return_reason.as_deref(), Some("面积数据有误"));
    assert!(
        declarations::save_values(&t.db, "d1", ALICE.sub, "津南创新孵化器", &changed, 4_100)
            .await
            .unwrap(),
        "editable again"
    );
    assert!(declarations::transition(
        &t.db,
        "d1",
        State::Returned,
        State::Submitted,
        ALICE,
        None,
        5_000
    )
    .await
    .unwrap());
    assert!(declarations::transition(
        &t.db,
        "d1",
        State::Submitted,
        State::Approved,
        REVIEWER,
        None,
        6_000
    )
    .await
    .unwrap());
    let d = declarations::get(&t.db, "d1").await.unwrap().unwrap();
    assert_eq!(d.state, State::Approved);
    assert_eq!(d.return_reason, None, "the reason belongs to the return");
    assert_eq!(d.submitted_at, Some(5_000));

    let history = declarations::transitions(&t.db, "d1").await.unwrap();
    let steps: Vec<_> = history
        .iter()
        .map(|h| {
            (
                h.from,
                h.to,
                h.actor_name.as_str(),
                h.reason.as_deref(),
                h.at,
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (None, State::Draft, "张三", None, 1_000),
            (Some(State::Draft), State::Submitted, "张三", None, 3_000),
            (
                Some(State::Submitted),
                State::Returned,
                "平台管理员",
                Some("面积数据有误"),
                4_000
            ),
            (Some(State::Returned), State::Submitted, "张三", None, 5_000),
            (
                Some(State::Submitted),
                State::Approved,
                "平台管理员",
                None,
                6_000
            ),
        ]
    );
});

/// A store whose commit always fails, as a full disk or an unreachable object store would.
struct FailingStore(LocalDir);

impl FileStore for FailingStore {
    fn staging_dir(&self) -> &Path {
        self.0.staging_dir()
    }
    fn commit<'a>(&'a self, staged: StagedFile, _key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            drop(staged);
            Err(io::Error::other("disk full"))
        })
    }
    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<FileReader>> {
        self.0.open(key)
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        self.0.delete(key)
    }
}

both_backends!(
    attachments_appear_with_their_files_or_not_at_all,
    |backend| async move {
        let t = TestDb::new(backend).await;
        new_draft(&t, "d1", "津南孵化器").await;
        let root = t.dir.join("files");
        let store = LocalDir::open(&root).unwrap();
        let new = |id: &'static str| NewAttachment {
            id,
            declaration_id: "d1",
            owner_sub: ALICE.sub,
            slot: "signature",
            file_name: "签章页.pdf",
            now: 2_000,
        };
        let staged = files::stage(
            store.staging_dir(),
            &mut Chunks::of(&pdf(200_000)),
            &[FileType::Pdf],
            MAX_FILE_BYTES,
        )
        .await
        .unwrap();
        let a = attachments::add(&t.db, &store, new("a1"), staged)
            .await
            .unwrap();
        assert_eq!(a.size, 200_000);
        assert_eq!(a.content_type, "application/pdf");
        assert_eq!(std::fs::read(root.join("a1")).unwrap().len(), 200_000);
        let listed = attachments::list(&t.db, "d1").await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].file_name, "签章页.pdf");

        // The store fails: no row, no file, nothing staged.
        let failing = FailingStore(LocalDir::open(&root).unwrap());
        let staged = files::stage(
            failing.staging_dir(),
            &mut Chunks::of(&pdf(1000)),
            &[FileType::Pdf],
            MAX_FILE_BYTES,
        )
        .await
        .unwrap();
        let e = attachments::add(&t.db, &failing, new("a2"), staged).await;
        assert!(matches!(e, Err(AddError::Store(_))), "{e:?}");
        assert!(attachments::get(&t.db, "a2").await.unwrap().is_none());
        assert_eq!(count_files(&root), 1);
        assert_eq!(count_files(store.staging_dir()), 0);

        // 10 MB + 1 byte never reaches the store.
        let e = files::stage(
            store.staging_dir(),
            &mut Chunks::of(&pdf(MAX_FILE_BYTES as usize + 1)),
            &[FileType::Pdf],
            MAX_FILE_BYTES,
        )
        .await;
        assert!(matches!(e, Err(UploadError::TooLarge)));
        assert_eq!(count_files(store.staging_dir()), 0);

        // After submit the declarant adds and removes nothing.
        assert!(declarations::transition(
            &t.db,
            "d1",
            State::Draft,
            State::Submitted,
            ALICE,
            None,
            3_000
        )
        .await
        .unwrap());
        let staged = files::stage(
            store.staging_dir(),
            &mut Chunks::of(&pdf(1000)),
            &[FileType::Pdf],
            MAX_FILE_BYTES,
        )
        .await
        .unwrap();
        let e = attachments::add(&t.db, &store, new("a3"), staged).await;
        assert!(matches!(e, Err(AddError::NotEditable)), "{e:?}");
        assert_eq!(
            count_files(store.staging_dir()),
            0,
            "the refused upload's staging file is gone"
        );
        assert_eq!(count_files(&root), 1);
        assert!(attachments::remove(&t.db, &store, "a1", ALICE.sub, 3_100)
            .await
            .unwrap()
            .is_none());
        assert!(root.join("a1").exists());

        // Returned: editable again; removing takes the row and the file.
        assert!(declarations::transition(
            &t.db,
            "d1",
            State::Submitted,
            State::Returned,
            REVIEWER,
            Some("缺少盖章"),
            4_000
        )
        .await
        .unwrap());
        assert!(
            attachments::remove(&t.db, &store, "a1", "acct-mallory", 4_100)
                .await
                .unwrap()
                .is_none(),
            "only the owner"
        );
        assert!(attachments::remove(&t.db, &store, "a1", ALICE.sub, 4_100)
            .await
            .unwrap()
            .is_some());
        assert!(attachments::list(&t.db, "d1").await.unwrap().is_empty());
        assert!(!root.join("a1").exists());
    }
);
