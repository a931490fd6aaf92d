"""A monitoring report as the terminal shows it (`ame model monitor`)."""

from __future__ import annotations

import time
from typing import Any

from ame_core.durations import format_duration


def latency(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "latency -"
    return "latency " + " ".join(f"{k} {_ms(v)}" for k, v in figures.items())


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"


def traffic_line(figures: dict[str, Any]) -> str:
    return (
        f"{figures['requests']} requests · {figures['per_minute']:.1f}/min · "
        f"errors {figures['error_rate'] * 100:.1f}% · {latency(figures.get('latency_ms'))}"
    )


def server_line(server: dict[str, Any]) -> str:
    """A cluster's runtime totals (server_metrics)."""
    return (
        f"{server['requests_total']} requests since the server started · errors "
        f"{server['error_rate'] * 100:.1f}% · {latency(server.get('latency_ms'))}"
    )


def verdict_line(found: dict[str, Any]) -> str:
    verdict = found["verdict"]
    if verdict == "drift":
        share = found["share"] or 0.0
        count = len(found["features"])
        names = ", ".join(found["drifted"])
        return f"drift: {len(found['drifted'])} of {count} features ({share:.0%}): {names}"
    if verdict == "ok":
        return f"ok: none of {len(found['features'])} features drifted"
    return f"{verdict}: {found.get('reason') or ''}".rstrip(": ")


def render(report: dict[str, Any]) -> list[str]:
    window = format_duration(report["window"]["seconds"])
    since = time.strftime("%H:%M", time.localtime(report["window"]["from"]))
    lines = [
        f"{report['model']} v{report['version']} ({report.get('backend', 'local')}) · "
        f"last {window} (since {since})"
    ]
    traffic = report["traffic"]
    lines.append(f"traffic   {traffic_line(traffic)}")
    versions = report.get("versions") or {}
    if len(versions) > 1:
        for version, figures in versions.items():
            lines.append(f"  v{version:<7} {traffic_line(figures)}")
    server = report.get("server_metrics")
    if server:
        lines.append(f"server    {server_line(server)}")
    found = report["drift"]
    lines.append(f"drift     {verdict_line(found)}")
    if found.get("reference"):
        reference = found["reference"]
        lines.append(f"  reference: {reference['source']} ({reference['rows']} rows)")
    if found.get("features"):
        lines.append(_table(found["features"]))
    inputs = report.get("inputs") or {}
    parts = [f"{inputs.get('rows', 0)} input rows sampled"]
    if inputs.get("not_matching_signature"):
        parts.append(f"{inputs['not_matching_signature']} not matching the signature")
    for reason, count in (inputs.get("requests_without_rows") or {}).items():
        parts.append(f"{count} requests {reason}")
    lines.append("inputs    " + " · ".join(parts))
    log = report.get("log")
    if log:
        lines.append(
            f"log       {log['path']}: {_size(log['bytes'])} (at most "
            f"{_size(log['cap_bytes_per_version'])} per version, "
            f"{log['rows_per_minute']} rows a minute)"
        )
    for warning in report.get("warnings") or []:
        lines.append(f"warning   {warning}")
    for missing in report.get("unavailable") or []:
        lines.append(f"not here  {missing}")
    if report.get("mlflow_run_id"):
        lines.append(f"recorded  MLflow run {report['mlflow_run_id']} (ame.kind=monitoring)")
    if report.get("path"):
        lines.append(f"report    {report['path']}")
    return lines


METHOD_LABELS = {
    "ks": "Kolmogorov–Smirnov",
    "wasserstein": "Wasserstein (norm.)",
    "chi2": "chi-squared",
    "jensenshannon": "Jensen–Shannon",
}


def feature_cells(feature: dict[str, Any]) -> tuple[str, str, str]:
    """A feature's statistic, p-value and threshold as the CLI and the console show them."""
    p = feature["p_value"]
    statistic = "inf" if feature["statistic"] is None else f"{feature['statistic']:.4g}"
    shown_p = "-" if p is None else ("<0.001" if p < 1e-3 else f"{p:.3f}")
    threshold = f"p < {feature['threshold']}" if p is not None else f"> {feature['threshold']}"
    return statistic, shown_p, threshold


def _table(features: list[dict[str, Any]]) -> str:
    rows = [["  FEATURE", "TEST", "STATISTIC", "P-VALUE", "THRESHOLD", "DRIFTED"]]
    for f in features:
        rows.append(
            [f"  {f['feature']}", METHOD_LABELS.get(f["method"], f["method"]), *feature_cells(f),
             "yes" if f["drifted"] else "no"]
        )  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return f"{count} B"
