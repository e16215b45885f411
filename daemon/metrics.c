/*
 * metrics.c - GET /v1/metrics (admin): Prometheus text exposition of requests by
 * route and status, group-commit batch sizes, commit latency, the audit log's
 * size, data key states and map use. Answered on the main thread, not audited,
 * like health: it holds no personal data and is scraped every few seconds.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "rosterd.h"

void metrics_count(struct server *srv, const char *action, int status)
{
	for (size_t i = 0; i < srv->ncounts; i++)
		if (srv->counts[i].action == action && srv->counts[i].status == status) {
			srv->counts[i].n++;
			return;
		}
	if (srv->ncounts < sizeof(srv->counts) / sizeof(srv->counts[0])) {
		srv->counts[srv->ncounts].action = action;
		srv->counts[srv->ncounts].status = status;
		srv->counts[srv->ncounts++].n = 1;
	}
}

void metrics_reply(struct server *srv, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();
	struct writer_stats st;
	const double *bounds;
	MDB_envinfo info;
	MDB_stat envst;
	uint64_t cum = 0;

	writer_stats(srv, &st, &bounds);
	evbuffer_add_printf(b, "# HELP roster_requests_total Requests answered, by route and "
	                       "status.\n# TYPE roster_requests_total counter\n");
	for (size_t i = 0; i < srv->ncounts; i++)
		evbuffer_add_printf(b, "roster_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
		                    srv->counts[i].action, srv->counts[i].status,
		                    (unsigned long long)srv->counts[i].n);
	evbuffer_add_printf(b, "# HELP roster_batch_ops Requests committed together (group "
	                       "commit).\n# TYPE roster_batch_ops histogram\n");
	for (int i = 0; i < WRITER_BATCH_BUCKETS; i++) {
		cum += st.batch[i];
		if (i < WRITER_BATCH_BUCKETS - 1)
			evbuffer_add_printf(b, "roster_batch_ops_bucket{le=\"%d\"} %llu\n", 1 << i,
			                    (unsigned long long)cum);
	}
	evbuffer_add_printf(b, "roster_batch_ops_bucket{le=\"+Inf\"} %llu\n",
	                    (unsigned long long)cum);
	evbuffer_add_printf(b, "roster_batch_ops_sum %llu\nroster_batch_ops_count %llu\n",
	                    (unsigned long long)st.batch_sum, (unsigned long long)st.commits);
	evbuffer_add_printf(
	    b,
	    "# HELP roster_lone_commits_total Commits of a request that came alone, "
	    "made by the main thread (of roster_batch_ops_count).\n"
	    "# TYPE roster_lone_commits_total counter\nroster_lone_commits_total %llu\n",
	    (unsigned long long)st.lone);
	evbuffer_add_printf(b, "# HELP roster_commit_seconds Time to commit a write transaction "
	                       "(fsync included).\n# TYPE roster_commit_seconds histogram\n");
	cum = 0;
	for (int i = 0; i < WRITER_COMMIT_BUCKETS; i++) {
		cum += st.commit[i];
		evbuffer_add_printf(b, "roster_commit_seconds_bucket{le=\"%g\"} %llu\n", bounds[i],
		                    (unsigned long long)cum);
	}
	cum += st.commit[WRITER_COMMIT_BUCKETS];
	evbuffer_add_printf(b, "roster_commit_seconds_bucket{le=\"+Inf\"} %llu\n",
	                    (unsigned long long)cum);
	evbuffer_add_printf(b, "roster_commit_seconds_sum %.6f\nroster_commit_seconds_count %llu\n",
	                    st.commit_sum, (unsigned long long)st.commits);
	evbuffer_add_printf(b,
	                    "# HELP roster_audit_entries Entries in the audit log.\n"
	                    "# TYPE roster_audit_entries gauge\nroster_audit_entries %llu\n",
	                    (unsigned long long)writer_log_size(srv));
	evbuffer_add_printf(
	    b,
	    "# HELP roster_audit_filtered_entries Audit entries in blocks with a "
	    "filter (questions skip those whose filter rules them out).\n"
	    "# TYPE roster_audit_filtered_entries gauge\n"
	    "roster_audit_filtered_entries %llu\n",
	    (unsigned long long)(st.afilter_end == AFILTER_OFF ? 0 : st.afilter_end));
	evbuffer_add_printf(b,
	                    "# HELP roster_audit_find_blocks_skipped_total Blocks of the audit "
	                    "log that questions skipped by their filter.\n"
	                    "# TYPE roster_audit_find_blocks_skipped_total counter\n"
	                    "roster_audit_find_blocks_skipped_total %llu\n"
	                    "# HELP roster_audit_find_entries_read_total Audit entries that "
	                    "questions read.\n"
	                    "# TYPE roster_audit_find_entries_read_total counter\n"
	                    "roster_audit_find_entries_read_total %llu\n"
	                    "# HELP roster_audit_find_filters_read_total Block filters that "
	                    "questions read (runs of them a question's time span rules out "
	                    "are passed over unread).\n"
	                    "# TYPE roster_audit_find_filters_read_total counter\n"
	                    "roster_audit_find_filters_read_total %llu\n",
	                    (unsigned long long)srv->afind.blocks_skipped,
	                    (unsigned long long)srv->afind.entries_read,
	                    (unsigned long long)srv->afind.filters_read);
	evbuffer_add_printf(b,
	                    "# HELP roster_data_keys Data keys by state.\n"
	                    "# TYPE roster_data_keys gauge\n"
	                    "roster_data_keys{state=\"active\"} 1\n"
	                    "roster_data_keys{state=\"retiring\"} %zu\n",
	                    st.retiring_data_keys);
	pthread_rwlock_rdlock(&srv->store.resize); /* the writer may be remapping */
	mdb_env_info(srv->store.env, &info);
	mdb_env_stat(srv->store.env, &envst);
	pthread_rwlock_unlock(&srv->store.resize);
	evbuffer_add_printf(b,
	                    "# HELP roster_map_bytes The LMDB map: its size and the part in "
	                    "use.\n# TYPE roster_map_bytes gauge\n"
	                    "roster_map_bytes{kind=\"size\"} %zu\n"
	                    "roster_map_bytes{kind=\"used\"} %llu\n",
	                    info.me_mapsize,
	                    (unsigned long long)(info.me_last_pgno + 1) * envst.ms_psize);
	evbuffer_add_printf(
	    b,
	    "# HELP roster_connections Client connections open.\n"
	    "# TYPE roster_connections gauge\nroster_connections %zu\n"
	    "# HELP roster_connections_lingering Connections shut for "
	    "sending, their 413 or 503 waiting to be read (at most 64).\n"
	    "# TYPE roster_connections_lingering gauge\n"
	    "roster_connections_lingering %zu\n"
	    "# HELP roster_connections_closed_total Connections rosterd closed: "
	    "over a limit, silent past client_timeout, or sending more "
	    "towards a request than they may.\n"
	    "# TYPE roster_connections_closed_total counter\n"
	    "roster_connections_closed_total{reason=\"limit\"} %llu\n"
	    "roster_connections_closed_total{reason=\"timeout\"} %llu\n"
	    "roster_connections_closed_total{reason=\"too_large\"} %llu\n",
	    srv->conns.n, srv->conns.lingering, (unsigned long long)srv->conns.refused,
	    (unsigned long long)srv->conns.timed_out, (unsigned long long)srv->conns.too_large);
	evbuffer_add_printf(b,
	                    "# HELP roster_reencrypt_records Re-encryption after a data key "
	                    "rotation: records walked and in all (0 0 when none runs).\n"
	                    "# TYPE roster_reencrypt_records gauge\n"
	                    "roster_reencrypt_records{kind=\"scanned\"} %llu\n"
	                    "roster_reencrypt_records{kind=\"total\"} %llu\n",
	                    (unsigned long long)st.reencrypt.scanned,
	                    (unsigned long long)st.reencrypt.total);
	evbuffer_add_printf(b,
	                    "# HELP roster_reindex_records An index key rotation's walk in its "
	                    "phase (1 building, 2 retiring; 0 when none runs).\n"
	                    "# TYPE roster_reindex_records gauge\n"
	                    "roster_reindex_records{kind=\"phase\"} %d\n"
	                    "roster_reindex_records{kind=\"scanned\"} %llu\n"
	                    "roster_reindex_records{kind=\"total\"} %llu\n",
	                    st.reindex_phase == 'b'   ? 1
	                    : st.reindex_phase == 'c' ? 2
	                                              : 0,
	                    (unsigned long long)st.reindex.scanned,
	                    (unsigned long long)st.reindex.total);
	evbuffer_add_printf(b,
	                    "# HELP roster_walk_slices_total Slices of re-encryption or index "
	                    "walks committed; requests arriving during one wait for it.\n"
	                    "# TYPE roster_walk_slices_total counter\n"
	                    "roster_walk_slices_total %llu\n"
	                    "# HELP roster_walk_slice_seconds_total Time those slices held the "
	                    "writer.\n# TYPE roster_walk_slice_seconds_total counter\n"
	                    "roster_walk_slice_seconds_total %.6f\n"
	                    "# HELP roster_walk_slice_records Records the last slice took on "
	                    "(reencrypt_batch, fewer while clients are served).\n"
	                    "# TYPE roster_walk_slice_records gauge\n"
	                    "roster_walk_slice_records %zu\n",
	                    (unsigned long long)st.slices, st.slice_sum, st.slice_last);
	evbuffer_add_printf(b,
	                    "# HELP roster_index_log_entries Entries in the person index's log "
	                    "(a request's tag changes each), not merged yet (index_log_entries).\n"
	                    "# TYPE roster_index_log_entries gauge\n"
	                    "roster_index_log_entries %llu\n"
	                    "# HELP roster_index_merge_slices_total Slices of index log merges "
	                    "committed, most in a client batch's transaction.\n"
	                    "# TYPE roster_index_merge_slices_total counter\n"
	                    "roster_index_merge_slices_total %llu\n"
	                    "# HELP roster_index_merge_seconds_total Time those slices took "
	                    "(before their commit).\n"
	                    "# TYPE roster_index_merge_seconds_total counter\n"
	                    "roster_index_merge_seconds_total %.6f\n",
	                    (unsigned long long)st.index_log, (unsigned long long)st.merges,
	                    st.merge_sum);
	evbuffer_add_printf(b,
	                    "# HELP roster_journal_records_total Commits made durable by a "
	                    "journal record.\n# TYPE roster_journal_records_total counter\n"
	                    "roster_journal_records_total %llu\n"
	                    "# HELP roster_journal_checkpoints_total Checkpoints (data.mdb "
	                    "synced, the records before them let go).\n"
	                    "# TYPE roster_journal_checkpoints_total counter\n"
	                    "roster_journal_checkpoints_total %llu\n"
	                    "# HELP roster_journal_checkpoints_beside_total Of those, the "
	                    "ones whose sync ran beside the writer (requests did not wait).\n"
	                    "# TYPE roster_journal_checkpoints_beside_total counter\n"
	                    "roster_journal_checkpoints_beside_total %llu\n"
	                    "# HELP roster_journal_ring_waits_total Commits that waited for "
	                    "a checkpoint beside the writer to free the journal's ring.\n"
	                    "# TYPE roster_journal_ring_waits_total counter\n"
	                    "roster_journal_ring_waits_total %llu\n"
	                    "# HELP roster_journal_checkpoint_seconds_total Time the writer "
	                    "spent in checkpoints.\n"
	                    "# TYPE roster_journal_checkpoint_seconds_total counter\n"
	                    "roster_journal_checkpoint_seconds_total %.6f\n"
	                    "# HELP roster_journal_checkpoint_seconds_max The longest "
	                    "time the writer spent in one checkpoint since the start (requests "
	                    "wait for it).\n"
	                    "# TYPE roster_journal_checkpoint_seconds_max gauge\n"
	                    "roster_journal_checkpoint_seconds_max %.6f\n"
	                    "# HELP roster_journal_bytes Records written since the last "
	                    "checkpoint.\n# TYPE roster_journal_bytes gauge\n"
	                    "roster_journal_bytes %llu\n",
	                    (unsigned long long)st.journal.records,
	                    (unsigned long long)st.journal.checkpoints,
	                    (unsigned long long)st.journal.beside,
	                    (unsigned long long)st.journal.waits, st.journal.checkpoint_seconds,
	                    st.journal.checkpoint_max, (unsigned long long)st.journal.bytes);
	evbuffer_add_printf(b,
	                    "# HELP roster_writer_failed 1 once a commit failed and writes "
	                    "stopped.\n# TYPE roster_writer_failed gauge\n"
	                    "roster_writer_failed %d\n"
	                    "# HELP roster_disk_full 1 while the last commit found the disk "
	                    "full.\n# TYPE roster_disk_full gauge\nroster_disk_full %d\n",
	                    writer_failed(srv), writer_disk_full(srv));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* GET /v1/progress (admin): how far the long background jobs have come, for
 * rosterctl's progress bars. Counts only; not audited, like metrics. */
void progress_reply(struct server *srv, struct evhttp_request *req)
{
	struct writer_stats st;
	const double *bounds;
	uint64_t estimate = srv->backup_estimate, bytes = srv->backup_bytes;
	json_t *body = json_object();

	writer_stats(srv, &st, &bounds);
	json_object_set_new(body, "backup",
	                    estimate ? json_pack("{s:I, s:I}", "bytes", (json_int_t)bytes,
	                                         "estimate", (json_int_t)estimate)
	                             : json_null());
	json_object_set_new(body, "reencrypt",
	                    st.retiring_data_keys
	                        ? json_pack("{s:I, s:I}", "scanned",
	                                    (json_int_t)st.reencrypt.scanned, "total",
	                                    (json_int_t)st.reencrypt.total)
	                        : json_null());
	json_object_set_new(body, "reindex",
	                    st.reindex_phase
	                        ? json_pack("{s:s, s:I, s:I}", "phase",
	                                    st.reindex_phase == 'b' ? "building" : "retiring",
	                                    "scanned", (json_int_t)st.reindex.scanned, "total",
	                                    (json_int_t)st.reindex.total)
	                        : json_null());
	http_reply_json(req, 200, body);
	json_decref(body);
}
