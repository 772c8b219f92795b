/// The admin page's style sheet (`/admin/app.css`): readable on a township office screen, and printable (a
/// printed conflict shows both values and the resolution, without buttons or forms).
enum AdminPageStyle {
    static let source = #"""
        :root {
          --ink: #1d2430; --muted: #5b6472; --line: #d5dae1; --paper: #ffffff; --ground: #f3f5f8;
          --accent: #a61b1b; --accent-ink: #ffffff; --win: #1e6b3a; --win-bg: #e7f4ec; --other: #8a5a00; --other-bg: #fff4dc;
          --ins-bg: #c9f0d4; --del-bg: #ffd3d3; --error: #a40e26; --error-bg: #fde8eb; --ok: #1e6b3a; --ok-bg: #e7f4ec;
        }
        * { box-sizing: border-box; }
        [hidden] { display: none !important; }
        html { font-size: 16px; }
        body {
          margin: 0; color: var(--ink); background: var(--ground); line-height: 1.5;
          font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
            "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif;
        }
        .top {
          display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem 1.5rem;
          padding: .75rem 1.5rem; background: var(--accent); color: var(--accent-ink);
        }
        .top h1 { margin: 0; font-size: 1.25rem; font-weight: 600; letter-spacing: .02em; }
        .top nav { display: flex; align-items: center; gap: 1rem; }
        .top nav a { color: var(--accent-ink); text-decoration: none; padding: .25rem .1rem; border-bottom: 2px solid transparent; }
        .top nav a.current, .top nav a:hover { border-bottom-color: var(--accent-ink); }
        .top nav button.secondary { background: transparent; color: var(--accent-ink); border-color: rgba(255, 255, 255, .7); }
        main { max-width: 78rem; margin: 0 auto; padding: 1.25rem 1.5rem 2rem; }
        h2 { font-size: 1.35rem; margin: .25rem 0 1rem; }
        .table-wrap + h2 { margin-top: 2rem; }
        h3 { font-size: 1.05rem; margin: 0 0 .5rem; display: flex; align-items: center; gap: .5rem; }
        h4 { margin: 0 0 .5rem; font-size: 1rem; }
        a { color: #1849a9; }
        .card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 1.25rem 1.5rem; }
        .narrow { max-width: 30rem; margin: 2rem auto; }
        label { display: block; font-weight: 600; margin: .5rem 0 .25rem; }
        input[type=text], input[type=password], input[type=date], select, textarea {
          font: inherit; color: inherit; padding: .45rem .6rem; border: 1px solid #aab2bf; border-radius: 6px; background: #fff;
        }
        #token { width: 100%; }
        textarea { width: 100%; resize: vertical; }
        button, a.button {
          font: inherit; display: inline-block; cursor: pointer; padding: .45rem 1rem; border-radius: 6px;
          border: 1px solid var(--accent); background: var(--accent); color: var(--accent-ink); text-decoration: none; white-space: nowrap;
        }
        button.secondary { background: #fff; color: var(--ink); border-color: #aab2bf; }
        button:disabled { opacity: .55; cursor: not-allowed; }
        button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible {
          outline: 3px solid #f2b705; outline-offset: 1px;
        }
        .hint { color: var(--muted); font-size: .9rem; margin: .35rem 0; }
        .error { color: var(--error); background: var(--error-bg); border-radius: 6px; padding: .5rem .75rem; }
        .banner { max-width: 75rem; margin: 1rem auto 0; padding: .65rem 1rem; border-radius: 6px; border: 1px solid var(--line); background: #eef3fb; }
        .banner.error { background: var(--error-bg); color: var(--error); border-color: #f3b4bf; }
        .banner.success { background: var(--ok-bg); color: var(--ok); border-color: #a9d8b9; }
        .filters {
          display: flex; flex-wrap: wrap; align-items: flex-end; gap: .5rem 1rem; background: var(--paper);
          border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem;
        }
        .filters label { margin: 0; font-size: .85rem; }
        .filters label span { display: block; color: var(--muted); font-weight: 600; }
        .filter-buttons { display: flex; gap: .5rem; }
        .summary { color: var(--muted); margin: .75rem 0; }
        .table-wrap { overflow-x: auto; background: var(--paper); border: 1px solid var(--line); border-radius: 8px; }
        table.data { width: 100%; border-collapse: collapse; font-size: .95rem; }
        table.data th, table.data td { text-align: left; vertical-align: top; padding: .55rem .7rem; border-bottom: 1px solid var(--line); }
        table.data th { background: #f7f8fa; font-size: .85rem; color: var(--muted); white-space: nowrap; }
        table.data tr:last-child td { border-bottom: none; }
        td.num, td.when { white-space: nowrap; }
        td.side { max-width: 18rem; }
        .row-label { font-weight: 600; overflow-wrap: anywhere; }
        .value { white-space: pre-wrap; overflow-wrap: anywhere; }
        .value.placeholder { color: var(--muted); font-style: italic; }
        .meta { color: var(--muted); font-size: .85rem; margin: .15rem 0; }
        .badge { display: inline-block; white-space: nowrap; font-size: .75rem; font-weight: 600; border-radius: 999px; padding: .05rem .55rem; margin-left: .4rem; vertical-align: middle; }
        .badge.win { background: var(--win-bg); color: var(--win); border: 1px solid #a9d8b9; }
        .badge.status.open { background: #fff4dc; color: var(--other); border: 1px solid #ecd096; }
        .badge.status.resolved { background: #eef0f3; color: var(--muted); border: 1px solid var(--line); }
        .back { margin: 0 0 .75rem; }
        #detail { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 1.25rem 1.5rem; }
        .row-info { font-size: 1.1rem; margin: 0; }
        .compare { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; margin: 1rem 0 .5rem; }
        .side-card { border: 1px solid var(--line); border-top-width: 4px; border-radius: 8px; padding: .75rem 1rem; }
        .side-card.winner { border-top-color: var(--win); }
        .side-card.other { border-top-color: var(--other); }
        .value-box { font-size: 1.1rem; background: #fafbfc; border: 1px solid #e6e9ee; border-radius: 6px; padding: .6rem .75rem; margin-top: .5rem; min-height: 2.6rem; }
        del.diff-del { background: var(--del-bg); color: #7a0c0c; text-decoration: line-through; text-decoration-thickness: 1px; }
        ins.diff-ins { background: var(--ins-bg); color: #0d4a22; text-decoration: underline; text-decoration-thickness: 1px; }
        .legend del, .legend ins { padding: 0 .2rem; }
        .actions { border-top: 1px solid var(--line); margin-top: 1rem; padding-top: 1rem; }
        .action-buttons { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0; }
        .set-row { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; margin-top: .75rem; }
        .set-row label { margin: 0; }
        .set-row input { flex: 1 1 16rem; }
        .confirm { margin-top: 1rem; border: 2px solid var(--accent); border-radius: 8px; padding: .75rem 1rem; background: #fff8f6; }
        .confirm #confirm-summary { font-weight: 600; overflow-wrap: anywhere; }
        .resolution { border-top: 1px solid var(--line); margin-top: 1rem; padding-top: 1rem; }
        .resolution dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
        .resolution dt { color: var(--muted); }
        .resolution dd { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
        .heading-row { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem 1rem; }
        .heading-row h2 { margin-bottom: .25rem; }
        .muted { color: var(--muted); }
        td.office { min-width: 11rem; }
        td.office.depth-1 { padding-left: 1.6rem; }
        td.office.depth-2, td.office.depth-3 { padding-left: 2.8rem; }
        td.office.depth-1 .office-name::before, td.office.depth-2 .office-name::before, td.office.depth-3 .office-name::before {
          content: "└ "; color: var(--muted);
        }
        .office-name { font-weight: 600; }
        .site-id, code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .8rem; overflow-wrap: anywhere; }
        tr.attention td { background: #fffaf0; }
        .warn { color: var(--error); font-weight: 600; }
        td.pending.some > div:first-child { color: var(--other); font-weight: 600; }
        .inline-form select { min-width: 9rem; }
        .badge.token.active { background: var(--ok-bg); color: var(--ok); border: 1px solid #a9d8b9; margin-left: 0; }
        .badge.token.revoked { background: var(--error-bg); color: var(--error); border: 1px solid #f3b4bf; margin-left: 0; }
        .badge.token.unused { background: #eef0f3; color: var(--muted); border: 1px solid var(--line); margin-left: 0; }
        .badge.kept { background: var(--win-bg); color: var(--win); border: 1px solid #a9d8b9; }
        .note { white-space: pre-wrap; overflow-wrap: anywhere; }
        details.technical { margin-top: .75rem; color: var(--muted); font-size: .85rem; }
        details.technical summary { cursor: pointer; }
        .reason { overflow-wrap: anywhere; }
        .inline-form { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; }
        .inline-form select { max-width: 14rem; }
        button.danger { color: var(--error); border-color: #e6a1ad; }
        td.admin-name { overflow-wrap: anywhere; }
        .token-box { margin: 0 0 1rem; border: 2px solid var(--win); border-radius: 8px; padding: .75rem 1rem; background: var(--ok-bg); }
        .token-box .token { display: block; font-size: 1rem; padding: .5rem .6rem; background: #fff; border: 1px solid var(--line); border-radius: 6px; word-break: break-all; user-select: all; }
        #accounts-view h3 { margin-top: 1.5rem; }
        #manage-confirm { margin: 0 0 1rem; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        .foot { text-align: center; color: var(--muted); font-size: .8rem; padding: 1rem; }
        @media (max-width: 48rem) {
          .compare { grid-template-columns: 1fr; }
          main { padding: 1rem .75rem; }
          .top { padding: .6rem .75rem; }
          .top h1 { font-size: 1.05rem; }
          .top nav { flex-wrap: wrap; gap: .35rem .9rem; }
          .filters label, .filters input, .filters select { width: 100%; }
          /* Tables become one card per row, each cell under its column's name (set by app.js as data-label). */
          .table-wrap { overflow-x: visible; background: transparent; border: none; }
          table.data.stack, table.data.stack tbody, table.data.stack tr, table.data.stack td { display: block; width: 100%; }
          table.data.stack thead { display: none; }
          table.data.stack tr { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; margin: 0 0 .75rem; padding: .4rem 0; }
          table.data.stack td { border: none; padding: .3rem .85rem; max-width: none; min-width: 0; }
          table.data.stack td[data-label]::before {
            content: attr(data-label); display: block; font-size: .75rem; font-weight: 600; color: var(--muted);
          }
          table.data.stack td.office { padding-left: .85rem; font-size: 1.05rem; }
          tr.attention td { background: transparent; }
          table.data.stack tr.attention { border-left: 4px solid var(--error); }
          table.data.stack td.office[data-label]::before { content: none; }
          .inline-form select { max-width: 100%; flex: 1 1 10rem; }
          /* The dashboard's and the site list's cards: two columns of short facts under the office's name. */
          #sites-table tr, #manage-table tr { display: grid; grid-template-columns: 1fr 1fr; }
          #sites-table td.office, #manage-table td.office, #sites-table td[data-testid=site-held], #manage-table td:nth-child(n+4) { grid-column: 1 / -1; }
          #sites-table td[data-testid=site-held] { order: 10; }
          table.data.stack td.office .office-name::before { content: none; }
        }
        @media print {
          body { background: #fff; font-size: 11pt; }
          .top { background: none; color: #000; border-bottom: 2px solid #000; padding: 0 0 .5rem; }
          .top nav, .banner, .filters, .actions, .back, a.button, button, .foot { display: none !important; }
          main { max-width: none; padding: 0; }
          .table-wrap, #detail, .card { border: none; padding: 0; overflow: visible; }
          table.data th { background: none; color: #000; }
          table.data tr { break-inside: avoid; }
          .side-card { break-inside: avoid; border-color: #000; }
          .compare { grid-template-columns: 1fr 1fr; }
          a { color: #000; text-decoration: none; }
          del.diff-del, ins.diff-ins { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
        }

        """#
}
