-- Result ids sort by creation time, so pruning and daily rollups range over
-- the primary key (and the (monitor_id, id) index) instead of created_at.
-- One index fewer makes every result insert cheaper.
DROP INDEX check_results_created;
