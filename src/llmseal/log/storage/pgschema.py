"""The log's tables in PostgreSQL and the channels replicas listen on.

:data:`MIGRATIONS` is the ``log`` component's list for :func:`llmseal.store.pg.migrate`
(``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1``).
``llmseal_log_sequence`` numbers a batch in one statement under the ``log_next`` row
lock and notifies :data:`SEQUENCED_CHANNEL`; the integrator notifies
:data:`CHECKPOINT_CHANNEL` after each publication.
"""

from __future__ import annotations

__all__ = ["CHECKPOINT_CHANNEL", "MIGRATIONS", "SEQUENCED_CHANNEL"]

SEQUENCED_CHANNEL = "llmseal_log"
CHECKPOINT_CHANNEL = "llmseal_log_cp"

MIGRATIONS = (
    """
    CREATE TABLE log_info (
        id     integer PRIMARY KEY CHECK (id = 1),
        origin text NOT NULL,
        vkey   text NOT NULL
    );
    CREATE TABLE log_next (id integer PRIMARY KEY CHECK (id = 1), next bigint NOT NULL);
    INSERT INTO log_next VALUES (1, 0);
    CREATE TABLE log_entries (
        idx        bigint PRIMARY KEY,
        leaf       bytea  NOT NULL UNIQUE,
        receipt_id text   NOT NULL,
        data       bytea  NOT NULL
    );
    CREATE INDEX log_entries_receipt ON log_entries (receipt_id);
    CREATE TABLE log_files (path text PRIMARY KEY, data bytea NOT NULL);
    CREATE TABLE log_checkpoints (name text PRIMARY KEY, size bigint NOT NULL, body bytea NOT NULL);
    CREATE FUNCTION llmseal_log_sequence(p_leaves bytea[], p_ids text[], p_data bytea[])
    RETURNS TABLE (o_pos integer, o_idx bigint, o_dup boolean)
    LANGUAGE plpgsql AS $$
    DECLARE
        nxt bigint;
    BEGIN
        SELECT next INTO nxt FROM log_next WHERE id = 1 FOR UPDATE;
        RETURN QUERY
        WITH input AS (
            SELECT t.pos::integer AS pos, t.leaf, t.rid, t.data
            FROM unnest(p_leaves, p_ids, p_data) WITH ORDINALITY AS t(leaf, rid, data, pos)
        ), known AS (
            SELECT i.pos, e.idx FROM input i JOIN log_entries e ON e.leaf = i.leaf
        ), firsts AS (  -- a leaf twice in the batch: its first place gets the index
            SELECT DISTINCT ON (i.leaf) i.pos, i.leaf, i.rid, i.data FROM input i
            WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.pos = i.pos)
            ORDER BY i.leaf, i.pos
        ), numbered AS (
            SELECT f.*, nxt + row_number() OVER (ORDER BY f.pos) - 1 AS idx FROM firsts f
        ), ins AS (
            INSERT INTO log_entries (idx, leaf, receipt_id, data)
            SELECT n.idx, n.leaf, n.rid, n.data FROM numbered n RETURNING 1
        )
        SELECT i.pos, coalesce(k.idx, n.idx, f.idx), n.pos IS NULL
        FROM input i
        LEFT JOIN known k ON k.pos = i.pos
        LEFT JOIN numbered n ON n.pos = i.pos
        LEFT JOIN numbered f ON f.leaf = i.leaf AND k.pos IS NULL
        ORDER BY i.pos;
        SELECT coalesce(max(e.idx) + 1, nxt) INTO nxt FROM log_entries e WHERE e.idx >= nxt;
        UPDATE log_next SET next = nxt WHERE id = 1;
        PERFORM pg_notify('llmseal_log', nxt::text);
    END $$;
    """,
)
