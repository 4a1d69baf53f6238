//! The contract between the shared SQL and a database backend.
//!
//! The shared SQL is written once, generic over [`SqlBackend`]. sqlx's own
//! traits need a dozen `where` bounds (the executor on `&mut Connection`,
//! `Encode`/`Decode` for every column type) that Rust does not carry from a
//! trait to its users, so every generic function would repeat them. Instead,
//! the backend answers the few primitive questions itself, with concrete
//! types: how to bind a [`Param`], how to read a column, which executor runs a
//! query. Everything above that ([`Sql`], [`SqlBuilder`], [`SqlRow`]) is
//! ordinary generic code.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::IntoArguments;
use sqlx::error::BoxDynError;
use sqlx::{Database, Executor, Pool, SqlSafeStr, SqlStr, Transaction};

use crate::{StoreError, StoreResult};

/// A database backend: its pools, how writes begin, its locking, and the
/// dialect's encodings. SQLite and Postgres implement it in their own crates.
pub trait SqlBackend: Send + Sync + 'static {
    type Db: Database<Arguments: IntoArguments<Self::Db> + 'static>;

    /// `sqlite` or `postgres`, as `/healthz` names it.
    const NAME: &'static str;
    /// A query on `$1` = org id that serializes quota-checked writes per
    /// organization (`FOR UPDATE` on Postgres; SQLite's writer is single).
    const LOCK_ORG: &'static str;
    /// Appended to the outbox claim's inner SELECT (`FOR UPDATE SKIP LOCKED`
    /// on Postgres, so nodes never claim the same delivery).
    const CLAIM_LOCK: &'static str;
    /// The aggregate that joins text with a separator, `(value, ',')`:
    /// `group_concat` on SQLite, `string_agg` on Postgres. One row per group
    /// instead of one per value matters where rows are costly to fetch.
    const STRING_AGG: &'static str;
    /// Run first in a maintenance transaction (pruning, a report import,
    /// migrations) to lift the per-statement time bound that request-path
    /// statements have: on Postgres `SET LOCAL statement_timeout = 0`, so
    /// that deleting a month of results is not cut at the bound a request
    /// needs. `None` where the backend sets no bound (SQLite).
    const LIFT_STATEMENT_TIMEOUT: Option<&'static str>;
    /// Whether multi-row statements and `IN` lists bind one array per
    /// column (`unnest($1::text[], …)`, `= ANY($1::text[])`) instead of
    /// one value per cell: Postgres. The statement's text then no longer
    /// depends on how many rows a batch has, so each is parsed and planned
    /// once per connection and then served from sqlx's statement cache,
    /// where a `VALUES` list of every new length was a new statement (two
    /// round trips and a plan); and a batch is a few binds, not thousands.
    const BINDS_ARRAYS: bool;

    /// Writes the placeholder of the `n`th value (from 1) of a built
    /// statement. Postgres needs `$n`; SQLite prefers a bare `?`, because
    /// it resolves `$n` as a named parameter by a linear search, which makes
    /// preparing a multi-row insert of thousands of values quadratic.
    fn push_placeholder(text: &mut String, n: usize);

    fn read_pool(&self) -> &Pool<Self::Db>;
    /// The ping journal's own database, where healthy heartbeat pings are
    /// appended (see `ping_journal`), if this backend journals them: only
    /// where one process is the database's only writer (SQLite on a file),
    /// because the count of pings to fold is in memory. The backend's write
    /// connection must see the journal's table as `journal.ping_journal`.
    fn ping_journal(&self) -> Option<&JournalDb<Self::Db>> {
        None
    }
    /// Starts a write transaction (SQLite takes its one writer with
    /// `BEGIN IMMEDIATE`).
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;

    /// The executor over one connection (a transaction's).
    fn on_connection<'c>(
        connection: &'c mut <Self::Db as Database>::Connection,
    ) -> impl Executor<'c, Database = Self::Db> + 'c;
    /// The executor over the read pool.
    fn on_pool<'p>(pool: &'p Pool<Self::Db>) -> impl Executor<'p, Database = Self::Db> + 'p;

    /// Binds one value with the dialect's own encoding.
    fn bind(
        args: &mut <Self::Db as Database>::Arguments,
        value: Param<'_>,
    ) -> Result<(), BoxDynError>;
    /// Binds one column of a multi-row statement as an array; only called
    /// where [`Self::BINDS_ARRAYS`].
    fn bind_column(
        _args: &mut <Self::Db as Database>::Arguments,
        _column: ParamColumn,
    ) -> Result<(), BoxDynError> {
        Err(format!("the {} backend binds no arrays", Self::NAME).into())
    }
    fn rows_affected(done: &<Self::Db as Database>::QueryResult) -> u64;

    fn read_text(
        row: &<Self::Db as Database>::Row,
        column: &str,
    ) -> Result<Option<String>, sqlx::Error>;
    fn read_i64(
        row: &<Self::Db as Database>::Row,
        column: &str,
    ) -> Result<Option<i64>, sqlx::Error>;
    /// `INTEGER` columns (Postgres `INT4` cannot be read as `i64`).
    fn read_i32(
        row: &<Self::Db as Database>::Row,
        column: &str,
    ) -> Result<Option<i32>, sqlx::Error>;
    fn read_bool(
        row: &<Self::Db as Database>::Row,
        column: &str,
    ) -> Result<Option<bool>, sqlx::Error>;
}

/// The ping journal's database: its own writer, and the id that tells this
/// journal file from one made anew (see `ping_journal`).
pub struct JournalDb<Db: Database> {
    pub pool: Pool<Db>,
    pub id: String,
}

/// One bound value. The shared SQL binds only these kinds.
#[derive(Debug, Clone)]
pub enum Param<'a> {
    Text(Option<Cow<'a, str>>),
    I64(Option<i64>),
    I32(Option<i32>),
    Bool(Option<bool>),
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(Some(Cow::Borrowed(v)))
    }
}
impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(Some(Cow::Borrowed(v)))
    }
}
impl From<String> for Param<'_> {
    fn from(v: String) -> Self {
        Param::Text(Some(Cow::Owned(v)))
    }
}
impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Param::Text(v.map(Cow::Borrowed))
    }
}
impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Param::Text(v.as_deref().map(Cow::Borrowed))
    }
}
impl From<Option<String>> for Param<'_> {
    fn from(v: Option<String>) -> Self {
        Param::Text(v.map(Cow::Owned))
    }
}

macro_rules! scalar_param {
    ($t:ty, $variant:ident) => {
        impl From<$t> for Param<'_> {
            fn from(v: $t) -> Self {
                Param::$variant(Some(v))
            }
        }
        impl From<Option<$t>> for Param<'_> {
            fn from(v: Option<$t>) -> Self {
                Param::$variant(v)
            }
        }
    };
}

scalar_param!(i64, I64);
scalar_param!(i32, I32);
scalar_param!(bool, Bool);

/// One column of a multi-row statement, bound as one array
/// ([`SqlBackend::BINDS_ARRAYS`]). Its values are owned, because the
/// statement outlives the rows it was built from.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamColumn {
    Text(Vec<Option<String>>),
    I64(Vec<Option<i64>>),
    I32(Vec<Option<i32>>),
    Bool(Vec<Option<bool>>),
}

impl ParamColumn {
    fn new(first: Param<'_>) -> Self {
        match first {
            Param::Text(v) => Self::Text(vec![v.map(Cow::into_owned)]),
            Param::I64(v) => Self::I64(vec![v]),
            Param::I32(v) => Self::I32(vec![v]),
            Param::Bool(v) => Self::Bool(vec![v]),
        }
    }

    /// Adds the next row's value; a value of another kind than the
    /// column's first is a bug in the statement, reported when it runs.
    fn push(&mut self, value: Param<'_>) -> Result<(), BoxDynError> {
        match (self, value) {
            (Self::Text(c), Param::Text(v)) => c.push(v.map(Cow::into_owned)),
            (Self::I64(c), Param::I64(v)) => c.push(v),
            (Self::I32(c), Param::I32(v)) => c.push(v),
            (Self::Bool(c), Param::Bool(v)) => c.push(v),
            (column, value) => {
                return Err(
                    format!("a {value:?} in a column of {}", column.sql_array_type()).into(),
                );
            }
        }
        Ok(())
    }

    fn len(&self) -> usize {
        match self {
            Self::Text(c) => c.len(),
            Self::I64(c) => c.len(),
            Self::I32(c) => c.len(),
            Self::Bool(c) => c.len(),
        }
    }

    /// The array's SQL type, which `unnest` needs spelled out to type its
    /// output columns.
    pub fn sql_array_type(&self) -> &'static str {
        match self {
            Self::Text(_) => "text[]",
            Self::I64(_) => "int8[]",
            Self::I32(_) => "int4[]",
            Self::Bool(_) => "bool[]",
        }
    }
}

/// A write transaction of backend `B`.
pub struct Tx<B: SqlBackend>(pub(crate) Transaction<'static, B::Db>);

impl<B: SqlBackend> Tx<B> {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.0.commit().await
    }
}

/// A pool of backend `B` (typed, so queries know their backend): the read
/// pool, or the ping journal's writer for an append that commits alone.
pub struct Reader<'p, B: SqlBackend>(pub(crate) &'p Pool<B::Db>);

impl<'p, B: SqlBackend> Reader<'p, B> {
    /// Statements on `pool`, for a backend's own tests of the shared SQL.
    pub fn new(pool: &'p Pool<B::Db>) -> Self {
        Self(pool)
    }
}

impl<B: SqlBackend> Clone for Reader<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<B: SqlBackend> Copy for Reader<'_, B> {}

/// Where a query runs: a write transaction or the read pool.
pub trait Exec<'e, B: SqlBackend> {
    fn executor(self) -> impl Executor<'e, Database = B::Db> + 'e;
}

impl<'e, B: SqlBackend> Exec<'e, B> for &'e mut Tx<B> {
    fn executor(self) -> impl Executor<'e, Database = B::Db> + 'e {
        B::on_connection(&mut self.0)
    }
}

impl<'e, B: SqlBackend> Exec<'e, B> for Reader<'e, B> {
    fn executor(self) -> impl Executor<'e, Database = B::Db> + 'e {
        B::on_pool(self.0)
    }
}

/// A statement with its bound values. A value the dialect cannot encode is
/// reported when the statement runs, as sqlx itself does.
pub struct Sql<B: SqlBackend> {
    statement: SqlStr,
    args: <B::Db as Database>::Arguments,
    bind_error: Option<BoxDynError>,
}

/// Starts a statement with `$N` placeholders, which both dialects accept (a
/// built statement uses the backend's own, see [`SqlBackend::push_placeholder`]).
pub fn query<B: SqlBackend>(statement: impl SqlSafeStr) -> Sql<B> {
    Sql {
        statement: statement.into_sql_str(),
        args: Default::default(),
        bind_error: None,
    }
}

/// What a write statement did.
pub struct Done {
    rows: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows
    }
}

impl<B: SqlBackend> Sql<B> {
    pub fn bind<'a>(mut self, value: impl Into<Param<'a>>) -> Self {
        self.push_param(value);
        self
    }

    fn push_param<'a>(&mut self, value: impl Into<Param<'a>>) {
        let value = value.into();
        self.bind_with(|args| B::bind(args, value));
    }

    fn push_column(&mut self, column: ParamColumn) {
        self.bind_with(|args| B::bind_column(args, column));
    }

    /// Binds with `bind` unless an earlier value failed: the first failure
    /// is the one the statement reports when it runs.
    fn bind_with(
        &mut self,
        bind: impl FnOnce(&mut <B::Db as Database>::Arguments) -> Result<(), BoxDynError>,
    ) {
        if self.bind_error.is_none()
            && let Err(e) = bind(&mut self.args)
        {
            self.bind_error = Some(e);
        }
    }

    fn into_query(self) -> sqlx::query::Query<'static, B::Db, <B::Db as Database>::Arguments> {
        let args = match self.bind_error {
            Some(e) => Err(e),
            None => Ok(self.args),
        };
        sqlx::__query_with_result(self.statement, args)
    }

    // The runners return boxed futures rather than being `async fn`s: a
    // future holding the executor's opaque type would make every caller's
    // `Send` proof higher-ranked, which rustc cannot yet do (rust#100013).

    pub fn execute<'e>(self, on: impl Exec<'e, B>) -> Running<'e, Done> {
        let running = on.executor().execute(self.into_query());
        Box::pin(async move {
            let done = running.await?;
            Ok(Done {
                rows: B::rows_affected(&done),
            })
        })
    }

    pub fn fetch_all<'e>(self, on: impl Exec<'e, B>) -> Running<'e, Vec<SqlRow<B>>> {
        let running = on.executor().fetch_all(self.into_query());
        Box::pin(async move { Ok(running.await?.into_iter().map(SqlRow).collect()) })
    }

    pub fn fetch_optional<'e>(self, on: impl Exec<'e, B>) -> Running<'e, Option<SqlRow<B>>> {
        let running = on.executor().fetch_optional(self.into_query());
        Box::pin(async move { Ok(running.await?.map(SqlRow)) })
    }

    pub fn fetch_one<'e>(self, on: impl Exec<'e, B>) -> Running<'e, SqlRow<B>> {
        let running = on.executor().fetch_one(self.into_query());
        Box::pin(async move { Ok(SqlRow(running.await?)) })
    }
}

/// A statement on its way to the database.
pub type Running<'e, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'e>>;

/// Builds a statement whose shape depends on the request (filters, multi-row
/// inserts), numbering placeholders as values are pushed.
pub struct SqlBuilder<B: SqlBackend> {
    text: String,
    sql: Sql<B>,
    count: usize,
}

impl<B: SqlBackend> SqlBuilder<B> {
    pub fn new(start: impl Into<String>) -> Self {
        Self {
            text: start.into(),
            sql: query(""),
            count: 0,
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub fn push_bind<'a>(&mut self, value: impl Into<Param<'a>>) -> &mut Self {
        self.count += 1;
        B::push_placeholder(&mut self.text, self.count);
        self.sql.push_param(value);
        self
    }

    /// The rows of a multi-row statement, one per item, filled by `row`:
    /// `VALUES (…), (…)`, or, where the backend binds arrays,
    /// `SELECT * FROM unnest($1::text[], …) AS rows (column1, …)`. Either
    /// names its columns `column1`.., as a bare `VALUES` list does in both
    /// dialects. At least one item.
    pub fn push_values<I>(
        &mut self,
        items: impl IntoIterator<Item = I>,
        mut row: impl FnMut(ValuesRow<'_, B>, I),
    ) -> &mut Self {
        if B::BINDS_ARRAYS {
            return self.push_columns(items, row);
        }
        self.text.push_str("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.text.push('(');
            row(
                ValuesRow {
                    into: RowsInto::Cells(self),
                    column: 0,
                },
                item,
            );
            self.text.push(')');
        }
        self
    }

    /// [`Self::push_values`] as one array per column.
    fn push_columns<I>(
        &mut self,
        items: impl IntoIterator<Item = I>,
        mut row: impl FnMut(ValuesRow<'_, B>, I),
    ) -> &mut Self {
        let mut columns = Columns::default();
        for item in items {
            row(
                ValuesRow {
                    into: RowsInto::Columns(&mut columns),
                    column: 0,
                },
                item,
            );
            columns.rows += 1;
            if columns.columns.iter().any(|c| c.len() != columns.rows) {
                columns
                    .error
                    .get_or_insert_with(|| "rows of different lengths".into());
            }
        }
        if let Some(e) = columns.error {
            self.sql.bind_with(|_| Err(e));
        }
        self.text.push_str("SELECT * FROM unnest(");
        let count = columns.columns.len();
        for (i, column) in columns.columns.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.push_array(column);
        }
        self.text.push_str(") AS rows (");
        for i in 1..=count {
            if i > 1 {
                self.text.push_str(", ");
            }
            self.text.push_str("column");
            self.text.push_str(&i.to_string());
        }
        self.text.push(')');
        self
    }

    /// ` IN (…)` of text values, or ` = ANY($n::text[])` where the backend
    /// binds arrays (see [`SqlBackend::BINDS_ARRAYS`]). At least one value.
    pub fn push_in<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) -> &mut Self {
        self.push_membership(" IN (", " = ANY(", values)
    }

    /// ` NOT IN (…)`, or ` <> ALL($n::text[])`. At least one value.
    pub fn push_not_in<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) -> &mut Self {
        self.push_membership(" NOT IN (", " <> ALL(", values)
    }

    fn push_membership<'a>(
        &mut self,
        listed: &str,
        array: &str,
        values: impl IntoIterator<Item = &'a str>,
    ) -> &mut Self {
        if B::BINDS_ARRAYS {
            self.text.push_str(array);
            self.push_array(ParamColumn::Text(
                values.into_iter().map(|v| Some(v.to_owned())).collect(),
            ));
            self.text.push(')');
            return self;
        }
        self.text.push_str(listed);
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.push_bind(value);
        }
        self.text.push(')');
        self
    }

    /// `$n::type[]` bound to `column`, one array
    /// ([`SqlBackend::BINDS_ARRAYS`]).
    fn push_array(&mut self, column: ParamColumn) {
        self.count += 1;
        B::push_placeholder(&mut self.text, self.count);
        self.text.push_str("::");
        self.text.push_str(column.sql_array_type());
        self.sql.push_column(column);
    }

    pub fn build(self) -> Sql<B> {
        Sql {
            statement: sqlx::AssertSqlSafe(self.text).into_sql_str(),
            ..self.sql
        }
    }
}

/// One row of [`SqlBuilder::push_values`].
pub struct ValuesRow<'b, B: SqlBackend> {
    into: RowsInto<'b, B>,
    /// The next value's column, from 0.
    column: usize,
}

/// Where a row's values go: a `VALUES` tuple's cells, or arrays.
enum RowsInto<'b, B: SqlBackend> {
    Cells(&'b mut SqlBuilder<B>),
    Columns(&'b mut Columns),
}

/// The arrays of [`SqlBuilder::push_columns`], and the first value that
/// did not fit its column.
#[derive(Default)]
struct Columns {
    columns: Vec<ParamColumn>,
    /// Rows complete so far.
    rows: usize,
    error: Option<BoxDynError>,
}

impl<B: SqlBackend> ValuesRow<'_, B> {
    pub fn push_bind<'a>(&mut self, value: impl Into<Param<'a>>) -> &mut Self {
        let column = self.column;
        self.column += 1;
        match &mut self.into {
            RowsInto::Cells(builder) => {
                if column > 0 {
                    builder.text.push_str(", ");
                }
                builder.push_bind(value);
            }
            RowsInto::Columns(columns) => {
                let value = value.into();
                if let Some(existing) = columns.columns.get_mut(column) {
                    if let Err(e) = existing.push(value) {
                        columns.error.get_or_insert(e);
                    }
                } else {
                    // The first row sets the columns; a later row's extra
                    // value makes a short column, caught after the row.
                    columns.columns.push(ParamColumn::new(value));
                }
            }
        }
        self
    }
}

/// A fetched row of backend `B`.
pub struct SqlRow<B: SqlBackend>(<B::Db as Database>::Row);

impl<B: SqlBackend> SqlRow<B> {
    /// Reads a column; a type or null mismatch is a corrupt row.
    pub fn get<T: FromColumn>(&self, column: &str) -> StoreResult<T> {
        T::read::<B>(&self.0, column)
            .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
    }
}

/// A Rust type a column is read into.
pub trait FromColumn: Sized {
    fn read<B: SqlBackend>(
        row: &<B::Db as Database>::Row,
        column: &str,
    ) -> Result<Self, sqlx::Error>;
}

fn required<T>(value: Option<T>, column: &str) -> Result<T, sqlx::Error> {
    value.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: "unexpected NULL".into(),
    })
}

macro_rules! from_column {
    ($t:ty, $read:ident) => {
        impl FromColumn for Option<$t> {
            fn read<B: SqlBackend>(
                row: &<B::Db as Database>::Row,
                column: &str,
            ) -> Result<Self, sqlx::Error> {
                B::$read(row, column)
            }
        }
        impl FromColumn for $t {
            fn read<B: SqlBackend>(
                row: &<B::Db as Database>::Row,
                column: &str,
            ) -> Result<Self, sqlx::Error> {
                required(B::$read(row, column)?, column)
            }
        }
    };
}

from_column!(String, read_text);
from_column!(i64, read_i64);
from_column!(i32, read_i32);
from_column!(bool, read_bool);
