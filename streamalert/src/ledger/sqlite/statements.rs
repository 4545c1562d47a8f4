//! The statements of one write, each prepared once however many alerts the write holds.

use rusqlite::{CachedStatement, Connection, Statement};
use std::cell::{RefCell, RefMut};
use std::ops::{Deref, DerefMut};

/// How many statements one write keeps at hand (a batch of the intake log uses about 20).
const HELD: usize = 32;

/// The statements one write (a batch of the intake log, or one write job) uses, each taken
/// from the connection's statement cache once and kept for the whole write.
///
/// [`Connection::prepare_cached`] finds a statement by hashing its SQL text and puts it back
/// by hashing it again: for the few short rows of an alert's tombstone that was a sixth of the
/// writer thread's work. Here a statement is found by the address of its text (every SQL text
/// of the ledger is a literal), among the few a write uses.
pub(super) struct Statements<'c> {
    conn: &'c Connection,
    held: [RefCell<Option<(&'static str, CachedStatement<'c>)>>; HELD],
}

impl<'c> Statements<'c> {
    /// No statement held yet.
    pub(super) fn new(conn: &'c Connection) -> Self {
        Self {
            conn,
            held: Default::default(),
        }
    }

    /// The statement of `sql`, prepared on first use and held from then on (a statement in
    /// use, or one past [`HELD`], comes from the connection's cache as before).
    pub(super) fn prepare_cached(&self, sql: &'static str) -> rusqlite::Result<Prepared<'_, 'c>> {
        for slot in &self.held {
            let Ok(mut held) = slot.try_borrow_mut() else {
                continue;
            };
            match &*held {
                Some((text, _)) if !std::ptr::eq(*text, sql) => continue,
                Some(_) => {}
                None => *held = Some((sql, self.conn.prepare_cached(sql)?)),
            }
            if let Ok(statement) = RefMut::filter_map(held, |held| held.as_mut().map(|(_, s)| s)) {
                return Ok(Prepared::Held(statement));
            }
        }
        self.conn.prepare_cached(sql).map(Prepared::Fresh)
    }

    /// The rowid of the last row inserted on the connection.
    pub(super) fn last_insert_rowid(&self) -> i64 {
        self.conn.last_insert_rowid()
    }
}

/// A statement of [`Statements`]: held for the write, or taken from the connection's cache.
pub(super) enum Prepared<'s, 'c> {
    Held(RefMut<'s, CachedStatement<'c>>),
    Fresh(CachedStatement<'c>),
}

impl<'c> Deref for Prepared<'_, 'c> {
    type Target = Statement<'c>;

    fn deref(&self) -> &Statement<'c> {
        match self {
            Self::Held(statement) => statement,
            Self::Fresh(statement) => statement,
        }
    }
}

impl DerefMut for Prepared<'_, '_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Self::Held(statement) => statement,
            Self::Fresh(statement) => statement,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement is prepared once and held: its second use is the same statement, a
    /// statement in use does not block another use of the same text, and each runs.
    #[test]
    fn a_statement_is_prepared_once_and_held_for_the_write() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER)").unwrap();
        let statements = Statements::new(&conn);
        const INSERT: &str = "INSERT INTO t (n) VALUES (?1)";
        for n in 0..3 {
            statements
                .prepare_cached(INSERT)
                .and_then(|mut s| s.execute([n]))
                .unwrap();
        }
        let held = statements
            .held
            .iter()
            .filter(|slot| slot.borrow().is_some());
        assert_eq!(held.count(), 1, "one statement held for three uses");
        const COUNT: &str = "SELECT COUNT(*) FROM t";
        let mut first = statements.prepare_cached(COUNT).unwrap();
        assert!(matches!(first, Prepared::Held(_)));
        let mut second = statements.prepare_cached(COUNT).unwrap();
        let count = |s: &mut Prepared<'_, '_>| s.query_row([], |row| row.get::<_, i64>(0));
        assert_eq!(
            (count(&mut first).unwrap(), count(&mut second).unwrap()),
            (3, 3)
        );
        assert_eq!(statements.last_insert_rowid(), 3);
    }

    /// Past [`HELD`] statements, the next ones come from the connection's cache and run.
    #[test]
    fn statements_past_the_held_ones_still_run() {
        let conn = Connection::open_in_memory().unwrap();
        let statements = Statements::new(&conn);
        let texts: Vec<&'static str> = (0..=HELD)
            .map(|n| &*Box::leak(format!("SELECT {n}").into_boxed_str()))
            .collect();
        for (n, text) in texts.iter().enumerate() {
            let mut statement = statements.prepare_cached(text).unwrap();
            assert_eq!(matches!(statement, Prepared::Fresh(_)), n == HELD);
            let got: i64 = statement.query_row([], |row| row.get(0)).unwrap();
            assert_eq!(got, i64::try_from(n).unwrap());
        }
    }
}
