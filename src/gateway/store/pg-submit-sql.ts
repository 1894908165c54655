/**
 * The statements of the hub's batches (pg-submit.ts): the read, the write, and one submission
 * alone for when a batch's write failed.
 */
/**
 * The batch's whole write, one statement: positions (only where the read's position still
 * holds: `ok`), log rows, inbox heads and rows, outbox rows, each only if `ok`. If not every
 * conversation matched, kontor_moved() fails the statement and undoes the updates that did.
 * Inbox rows go only to devices that exist and are not revoked as the statement runs (a batch
 * that did not read, pg-known.ts, has not checked them); the heads it returns name them.
 */
export const WRITE = `
WITH m AS (
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::bigint[], $9::text[])
    WITH ORDINALITY AS t (conv_id, seq, message_id, sender, kind, epoch, payload, created_at, hub, n)),
u AS (
  UPDATE conversations c SET next_seq = t.next_seq, epoch = t.epoch, members = COALESCE(t.members::jsonb, c.members)
  FROM unnest($10::text[], $11::bigint[], $12::int[], $13::text[], $22::bigint[]) AS t (id, next_seq, epoch, members, read_seq)
  WHERE c.id = t.id AND c.next_seq = t.read_seq RETURNING 1),
ok AS (SELECT count(*) = $23 AS ok FROM u),
l AS (
  INSERT INTO log (conv_id, seq, message_id, sender, created_at)
  SELECT conv_id, seq, message_id, sender, created_at FROM m WHERE (SELECT ok FROM ok) ORDER BY n),
k AS (
  SELECT t.device_id, t.cnt FROM unnest($20::text[], $21::bigint[]) AS t (device_id, cnt) JOIN devices d USING (device_id)
  WHERE d.revoked_at IS NULL),
h AS (
  INSERT INTO inbox_heads AS ih (device_id, last_id) SELECT device_id, cnt FROM k WHERE (SELECT ok FROM ok) ORDER BY device_id
  ON CONFLICT (device_id) DO UPDATE SET last_id = ih.last_id + excluded.last_id RETURNING device_id, last_id),
i AS (
  INSERT INTO inbox (device_id, id, kind, conv_id, hub, seq, message_id, epoch, sender, payload, created_at)
  SELECT r.device_id, h.last_id - k.cnt + 1 + r.off, m.kind, m.conv_id, m.hub, m.seq, m.message_id, m.epoch, m.sender,
    decode(m.payload, 'base64'), m.created_at
  FROM unnest($14::text[], $15::bigint[], $16::bigint[]) AS r (device_id, off, n) JOIN m USING (n) JOIN h USING (device_id)
    JOIN k USING (device_id)
  ORDER BY r.device_id, r.off),
o AS (
  INSERT INTO outbox (peer, item, created_at)
  SELECT peer, item, created_at FROM unnest($17::text[], $18::text[], $19::bigint[]) WITH ORDINALITY AS t (peer, item, created_at, n)
  WHERE (SELECT ok FROM ok) ORDER BY n)
SELECT CASE WHEN (SELECT ok FROM ok) THEN COALESCE((SELECT json_agg(json_build_array(device_id, last_id)) FROM h), '[]'::json)
  ELSE to_json(kontor_moved()) END AS heads`;

/**
 * What a batch needs to know, in one round trip: its conversations; which of its message ids
 * the log holds already (a retry is answered as before); and which of the local devices it may
 * reach are active: the local members of those conversations and of the commits submitted ($4,
 * given by the caller), as splitAddress reads an address. Nothing is locked: the write holds
 * only if no conversation moved in between (see WRITE).
 */
export const READ = `
WITH c AS (SELECT id, epoch, members, next_seq FROM conversations WHERE id = ANY($1::text[]))
SELECT
  (SELECT COALESCE(json_agg(c), '[]'::json) FROM c) AS convs,
  (SELECT COALESCE(json_agg(json_build_array(l.conv_id, l.message_id, l.seq, l.sender)), '[]'::json)
    FROM unnest($2::text[], $3::text[]) AS t (c, m) JOIN log l ON l.conv_id = t.c AND l.message_id = t.m) AS prior,
  (SELECT COALESCE(json_agg(device_id), '[]'::json) FROM devices WHERE revoked_at IS NULL AND device_id = ANY(
    $4::text[] || ARRAY(SELECT split_part(a, '@', 1) FROM c, jsonb_array_elements_text(c.members) AS a
      WHERE substr(a, strpos(a, '@') + 1) = $5))) AS active`;

/**
 * One submission alone, after its conversation row is locked, in one round trip: the log row
 * (which refuses a retry through UNIQUE (conv_id, message_id)), the next position and, for a
 * commit, epoch and members; the inbox rows of local recipients and the outbox rows for
 * partners. Everything after the log insert happens only if it inserted.
 */
export const SUBMIT_ONE = `
WITH l AS (
  INSERT INTO log (conv_id, seq, message_id, sender, created_at) VALUES ($1, $2, $3, $4, $7)
  ON CONFLICT DO NOTHING RETURNING seq),
u AS (
  UPDATE conversations SET next_seq = $2 + 1, epoch = CASE WHEN $8 THEN epoch + 1 ELSE epoch END,
    members = COALESCE($9::jsonb, members) WHERE id = $1 AND EXISTS (SELECT 1 FROM l) RETURNING 1),
h AS (
  INSERT INTO inbox_heads AS ih (device_id, last_id)
  SELECT device_id, 1 FROM devices WHERE device_id = ANY($10::text[]) AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM l)
  ORDER BY device_id
  ON CONFLICT (device_id) DO UPDATE SET last_id = ih.last_id + 1
  RETURNING device_id, last_id),
i AS (
  INSERT INTO inbox (device_id, id, kind, conv_id, hub, seq, message_id, epoch, sender, payload, created_at)
  SELECT h.device_id, h.last_id, $5, $1, $11, $2, $3, $6, $4, $12, $7 FROM h ORDER BY h.device_id
  RETURNING device_id, id),
o AS (
  INSERT INTO outbox (peer, item, created_at)
  SELECT p, item, $7 FROM unnest($13::text[], $14::text[]) AS t (p, item) WHERE EXISTS (SELECT 1 FROM l)
  RETURNING 1)
SELECT (SELECT count(*) FROM l)::int AS logged,
  COALESCE((SELECT json_agg(json_build_array(device_id, id)) FROM i), '[]'::json) AS inbox`;
