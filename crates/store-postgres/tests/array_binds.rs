//! Multi-row statements and `IN` lists bind one array per column on
//! Postgres (`SqlBackend::BINDS_ARRAYS`): the rows come back as bound,
//! nulls included, and the statement's text, so its prepared statement, is
//! the same for every batch size.

use certsentry_store::sql::{Reader, SqlBuilder, query};
use certsentry_store_postgres::PostgresBackend;
use sqlx::postgres::PgPoolOptions;

type Builder = SqlBuilder<PostgresBackend>;

/// A row of `probe` as read: name, note, size, rank, is_on.
type ReadBack = (String, Option<String>, i64, Option<i32>, bool);

struct Row {
    name: &'static str,
    note: Option<&'static str>,
    size: i64,
    rank: Option<i32>,
    on: bool,
}

fn insert(rows: &[Row]) -> Builder {
    let mut insert = Builder::new("INSERT INTO probe (name, note, size, rank, is_on) ");
    insert.push_values(rows, |mut row, r| {
        row.push_bind(r.name)
            .push_bind(r.note)
            .push_bind(r.size)
            .push_bind(r.rank)
            .push_bind(r.on);
    });
    insert
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_and_in_lists_bind_arrays_and_reuse_one_statement() {
    let Some(url) = certsentry_store_postgres::testing::fresh_database().await else {
        return;
    };
    // One connection, so that its prepared statements can be counted.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    let on = Reader::<PostgresBackend>::new(&pool);
    query::<PostgresBackend>(
        "CREATE TABLE probe (name TEXT PRIMARY KEY, note TEXT, size BIGINT, rank INTEGER, is_on BOOLEAN NOT NULL)",
    )
    .execute(on)
    .await
    .unwrap();

    let first = [Row {
        name: "a",
        note: None,
        size: 1,
        rank: Some(7),
        on: true,
    }];
    let more = [
        Row {
            name: "b",
            note: Some("it's \"quoted\", {braced}"),
            size: -5,
            rank: None,
            on: false,
        },
        Row {
            name: "c",
            note: Some(""),
            size: i64::MAX,
            rank: Some(0),
            on: true,
        },
    ];
    let done = insert(&first).build().execute(on).await.unwrap();
    assert_eq!(done.rows_affected(), 1);
    let done = insert(&more).build().execute(on).await.unwrap();
    assert_eq!(done.rows_affected(), 2);

    let mut select = Builder::new("SELECT name, note, size, rank, is_on FROM probe WHERE name");
    select.push_in(["a", "c", "absent"]).push(" ORDER BY name");
    let rows = select.build().fetch_all(on).await.unwrap();
    let read: Vec<ReadBack> = rows
        .iter()
        .map(|r| {
            (
                r.get("name").unwrap(),
                r.get("note").unwrap(),
                r.get("size").unwrap(),
                r.get("rank").unwrap(),
                r.get("is_on").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        read,
        vec![
            ("a".to_string(), None, 1, Some(7), true),
            (
                "c".to_string(),
                Some(String::new()),
                i64::MAX,
                Some(0),
                true
            ),
        ]
    );
    let mut select = Builder::new("SELECT note FROM probe WHERE name");
    select.push_not_in(["a", "c"]);
    let row = select.build().fetch_one(on).await.unwrap();
    assert_eq!(
        row.get::<Option<String>>("note").unwrap().as_deref(),
        Some("it's \"quoted\", {braced}")
    );

    // A batch of one row and a batch of two were one prepared statement.
    let prepared: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'INSERT INTO probe%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(prepared, 1);

    // A column whose rows bind different kinds is refused when it runs.
    let mut mixed = Builder::new("INSERT INTO probe (name, size) ");
    mixed.push_values([0, 1], |mut row, i| {
        row.push_bind("d");
        if i == 0 {
            row.push_bind(1i64);
        } else {
            row.push_bind("one");
        }
    });
    assert!(mixed.build().execute(on).await.is_err());
}
