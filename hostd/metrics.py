"""Prometheus text exposition (format 0.0.4) of the queues, written by hand: a dozen gauges do
not justify a client library and its global registry."""

from __future__ import annotations

from hostd.context import AppContext
from hostd.limits import ListenerFigures


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(ctx: AppContext, listeners: list[ListenerFigures] | None = None) -> str:
    series: dict[str, tuple[str, str, list[str]]] = {
        "comptoir_card_queue_depth": ("gauge", "Jobs waiting for the card", []),
        "comptoir_card_busy_seconds_total": ("counter", "Time the card spent on jobs", []),
        "comptoir_card_jobs_completed_total": ("counter", "Jobs that succeeded", []),
        "comptoir_card_jobs_failed_total": ("counter", "Jobs that failed or were refused", []),
        "comptoir_card_wait_seconds_sum": ("counter", "Total queue wait of started jobs", []),
        "comptoir_card_service_seconds_sum": ("counter", "Total card time of started jobs", []),
        "comptoir_card_wait_p99_seconds": ("gauge", "99th percentile wait, recent jobs", []),
        "comptoir_card_present": ("gauge", "1 when a card is in the reader", []),
        "comptoir_cps_unlocked": ("gauge", "1 when the CPS holds an unlock lease", []),
    }

    def add(name: str, reader: str, value: float) -> None:
        series[name][2].append(f'{name}{{reader="{_label(reader)}"}} {value:.6g}')

    for state in ctx.devices.hub.readers():
        f = state.worker.figures()
        add("comptoir_card_queue_depth", state.name, f.depth)
        add("comptoir_card_busy_seconds_total", state.name, f.busy_s)
        add("comptoir_card_jobs_completed_total", state.name, f.completed)
        add("comptoir_card_jobs_failed_total", state.name, f.failed)
        add("comptoir_card_wait_seconds_sum", state.name, f.wait_sum_s)
        add("comptoir_card_service_seconds_sum", state.name, f.service_sum_s)
        add("comptoir_card_wait_p99_seconds", state.name, f.wait_p99_ms / 1000)
        add("comptoir_card_present", state.name, 1 if state.atr else 0)
        add("comptoir_cps_unlocked", state.name, 0 if ctx.cps.lease(state.name) is None else 1)
    lines: list[str] = []
    for name, (kind, help_text, samples) in series.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]
    head_id, _ = ctx.audit.head()
    lines += [
        "# HELP comptoir_audit_rows Rows in the audit log",
        "# TYPE comptoir_audit_rows gauge",
        f"comptoir_audit_rows {head_id}",
    ]
    writer = ctx.audit.writer_figures()
    # rows per fsync = rate(rows_written) / rate(commits) over any window.
    for name, kind, help_text, value in (
        ("comptoir_audit_commits_total", "counter", "Fsynced audit commits (groups)",
         writer.commits),
        ("comptoir_audit_rows_written_total", "counter", "Audit rows committed since start",
         writer.rows),
        ("comptoir_audit_failed_commits_total", "counter", "Audit commits that failed",
         writer.failed_commits),
        ("comptoir_audit_group_size_max", "gauge", "Largest recent group commit (rows)",
         writer.group_max),
    ):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    from hostd.disk import disk_health

    disk = disk_health(ctx.settings.state_dir, ctx.settings.disk)
    for name, help_text, value in (
        ("comptoir_disk_audit_bytes", "Audit database pages in use", disk.audit_bytes),
        ("comptoir_disk_journal_bytes", "Journal directory", disk.journal_bytes),
        ("comptoir_disk_budget_bytes", "Disk budget of the audit log and journal",
         disk.budget_bytes),
        ("comptoir_disk_free_bytes", "Free space on the state filesystem", disk.free_bytes),
        ("comptoir_disk_warning", "1 when the disk budget needs attention (warning or full)",
         0 if disk.level == "ok" else 1),
    ):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
    figures = listeners or []
    for name, kind, help_text, attr in (
        ("comptoir_connections_open", "gauge", "Open connections (handshakes included)",
         "open_connections"),
        ("comptoir_connections_refused_total", "counter",
         "Connections closed at accept by the per-source or per-listener cap",
         "refused_at_accept"),
        ("comptoir_requests_in_flight", "gauge", "Requests being handled", "in_flight"),
        ("comptoir_requests_overloaded_total", "counter", "Requests answered 503 overloaded",
         "overloaded"),
        ("comptoir_requests_too_large_total", "counter", "Requests answered 413 body-too-large",
         "too_large"),
    ):
        if figures:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            lines += [f'{name}{{listener="{f.listener}"}} {getattr(f, attr)}' for f in figures]
    timed = [(f.listener, r) for f in figures for r in f.routes]
    if timed:
        name = "comptoir_request_duration_seconds"
        lines += [f"# HELP {name} Time in the daemon per route (recent requests)",
                  f"# TYPE {name} summary"]
        for listener, r in timed:
            labels = f'listener="{listener}",method="{r.method}",route="{r.route}"'
            lines += [f'{name}{{{labels},quantile="0.5"}} {r.p50_s:.6f}',
                      f'{name}{{{labels},quantile="0.99"}} {r.p99_s:.6f}',
                      f"{name}_count{{{labels}}} {r.count}"]
    if figures:
        name = "comptoir_connections_timed_out_total"
        lines += [f"# HELP {name} Connections dropped by the header or body deadline",
                  f"# TYPE {name} counter", f"{name} {figures[0].timed_out}"]
    return "\n".join(lines) + "\n"
