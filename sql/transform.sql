-- The default DataFusion transform, run on every micro-batch (user-editable;
-- point `transform` in the configuration at your own copy).
--
-- Input: the table `batch`, one row per valid input row, with the configured
-- columns plus `source_file` (the file's name) and `_seq` (read order in the
-- batch: later rows have larger values).
-- Output: every target column and `source_file`; one row per key.
--
-- Dedupe by key within the batch, keeping the latest event_time (the row read
-- last wins a tie), and normalise the event type.
SELECT event_id,
       lower(trim(event_type)) AS event_type,
       user_id,
       product_id,
       category,
       price,
       quantity,
       event_time,
       source_file
FROM (
    SELECT *,
           ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY event_time DESC, _seq DESC) AS _rank
    FROM batch
)
WHERE _rank = 1
