-- pgbench: the database work of one booking, as erdv does it, without the application around it.
-- Check the cells are free, insert the appointment and its cells (15 minutes = 3 cells of 5), then
-- append one audit row under the audit writers' lock (erdv's lock_until_commit) after the chain's
-- head. Practitioner n is md5(n)::uuid (bench/dataset.py); the time is random far in the future
-- so runs never collide with each other or with the dataset. Rows carry channel 'pgbench' and are
-- deleted after the run (bench/run.py).
\set p random(0, :practitioners - 1)
\set q random(0, :patients - 1)
\set t random(1, 500000000)
BEGIN;
SELECT count(*) FROM booking_cell
 WHERE practitioner_id = md5(:p::text)::uuid
   AND cell_at >= timestamptz '2040-01-01 00:00+00' + :t * interval '15 minutes'
   AND cell_at < timestamptz '2040-01-01 00:15+00' + :t * interval '15 minutes';
WITH a AS (
  INSERT INTO appointment (id, practitioner_id, patient_id, start_at, end_at, status, channel,
                           visit_reason_ct, created_at)
  SELECT gen_random_uuid(), md5(:p::text)::uuid, account.id,
         timestamptz '2040-01-01 00:00+00' + :t * interval '15 minutes',
         timestamptz '2040-01-01 00:15+00' + :t * interval '15 minutes',
         'booked', 'pgbench', md5(random()::text) || md5(random()::text), now()
  FROM account WHERE email = 'patient' || :q || '@bench.erdv.localhost'
  RETURNING id, practitioner_id, start_at
)
INSERT INTO booking_cell (practitioner_id, cell_at, appointment_id)
SELECT a.practitioner_id, a.start_at + c * interval '5 minutes', a.id
FROM a, generate_series(0, 2) AS c;
SELECT pg_advisory_xact_lock(hashtextextended('erdv:audit-writers', 0));
INSERT INTO audit_entry (seq, id, at, action, outcome, actor_type, actor_id, actor_role, subject_id,
                         object_type, object_id, details, prev_hash, hash, mac)
SELECT head.seq + 1, gen_random_uuid(), now(), 'appointment.booked', 'success', 'account',
       'pgbench', 'patient', 'pgbench', 'appointment', 'pgbench', '{}', head.hash,
       encode(sha256(convert_to(head.hash || now()::text, 'UTF8')), 'hex'),
       encode(sha256(convert_to(head.hash || 'mac', 'UTF8')), 'hex')
FROM (SELECT seq, hash FROM audit_entry
      UNION ALL SELECT 0, repeat('0', 64)
      ORDER BY seq DESC LIMIT 1) AS head;
COMMIT;
