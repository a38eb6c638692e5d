"""Journey charts as PNG files: a funnel, a cumulative flow diagram and a cycle-time scatter.

Each function takes the rows of a mart (a pandas DataFrame) and writes one PNG; matplotlib is
imported lazily with the Agg backend, so importing this module costs nothing and needs no display.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def render_funnel(funnel: pd.DataFrame, path: Path, title: str) -> Path:
    """Bars of tickets entering each stage in the window, with conversion to the next stage.
    `funnel`: rows of marts.journey_funnel for one workspace and one team_key (or all teams)."""
    plt = _pyplot()
    rows = funnel.sort_values("stage_order")
    fig, ax = plt.subplots(figsize=(8, 0.6 * max(len(rows), 3) + 1.2))
    try:
        labels = list(rows["stage"])[::-1]
        values = list(rows["entered"].astype(int))[::-1]
        bars = ax.barh(labels, values, color="#4C72B0")
        notes = []
        for _, row in rows.iterrows():
            if pd.notna(row["conversion_rate"]) and pd.notna(row["next_stage"]):
                median = row["median_hours_to_convert"]
                tail = f", median {median / 24:.1f} d" if pd.notna(median) else ""
                notes.append(f"{row['conversion_rate']:.0%} on{tail}")
            else:
                notes.append("")
        for bar, note, value in zip(bars, notes[::-1], values):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {value}  {note}", va="center", fontsize=9)
        ax.set_xlabel("tickets entering the stage in the window")
        ax.set_xlim(0, max(values + [1]) * 1.5)
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def render_cumulative_flow(flow: pd.DataFrame, path: Path, title: str) -> Path:
    """Stacked areas of tickets per stage per day, the last stage at the bottom.
    `flow`: rows of marts.journey_flow_daily (summed over the teams to show)."""
    plt = _pyplot()
    table = (flow.groupby(["day", "stage", "stage_order"], as_index=False)["tickets"].sum()
             .pivot_table(index="day", columns=["stage_order", "stage"], values="tickets", fill_value=0)
             .sort_index(axis=1, ascending=False))
    fig, ax = plt.subplots(figsize=(10, 5))
    try:
        if not table.empty:
            ax.stackplot(pd.to_datetime(table.index), table.T.values,
                         labels=[stage for _, stage in table.columns], alpha=0.85)
            handles, labels = ax.get_legend_handles_labels()
            ax.legend(handles[::-1], labels[::-1], loc="upper left", fontsize=8)  # same order as the stack
        ax.set_ylabel("tickets in stage (end of day)")
        ax.set_title(title)
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def render_cycle_scatter(tickets: pd.DataFrame, path: Path, title: str) -> Path:
    """One dot per delivered ticket: delivery time against cycle time in days, with p50/p85 lines.
    `tickets`: delivered_at and cycle_hours from marts.ticket_journeys."""
    plt = _pyplot()
    data = tickets.dropna(subset=["delivered_at", "cycle_hours"])
    fig, ax = plt.subplots(figsize=(10, 5))
    try:
        days = data["cycle_hours"] / 24
        ax.scatter(pd.to_datetime(data["delivered_at"]), days, s=8, alpha=0.5, color="#4C72B0")
        for q, style in ((0.5, "--"), (0.85, ":")):
            if len(days):
                value = days.quantile(q)
                ax.axhline(value, linestyle=style, color="#C44E52", label=f"p{int(q * 100)} {value:.1f} d")
        if len(days):
            ax.legend(loc="upper left", fontsize=8)
        ax.set_ylabel("cycle time (days)")
        ax.set_title(title)
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
