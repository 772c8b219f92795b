/// The admin page's markup. Static text is English here and replaced by `app.js` (`data-i18n`) in the reader's
/// language; all data is inserted by the script as text nodes, never as markup.
enum AdminPageHTML {
    static let index = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>cpsync · county admin</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/admin/app.css">
        <script src="/admin/app.js" defer></script>
        </head>
        <body>
        <header class="top">
          <h1 id="app-title" data-i18n="title">CPPCC data sync · county admin</h1>
          <nav id="nav" data-testid="nav" hidden>
            <a href="#/sites" id="nav-sites" data-testid="nav-sites" data-i18n="navSites">Offices</a>
            <a href="#/conflicts" id="nav-conflicts" data-testid="nav-conflicts" data-i18n="navConflicts">Conflicts</a>
            <a href="#/audit" id="nav-audit" data-testid="nav-audit" data-i18n="navAudit">Audit trail</a>
            <a href="#/accounts" id="nav-accounts" data-testid="nav-accounts" data-i18n="navAccounts">Sites and tokens</a>
            <button type="button" id="signout" class="secondary" data-testid="signout" data-i18n="signOut">Sign out</button>
          </nav>
        </header>
        <div id="banner" class="banner" role="status" aria-live="polite" data-testid="banner" hidden></div>
        <main id="main">
          <noscript><p class="error">This page needs JavaScript.</p></noscript>

          <section id="signin-view" class="card narrow" data-testid="signin-view" hidden>
            <h2 data-i18n="signInTitle">Sign in</h2>
            <form id="signin-form" data-testid="signin-form" novalidate>
              <label for="token" data-i18n="tokenLabel">Admin token</label>
              <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" data-testid="token-input">
              <p class="hint" data-i18n="tokenHint">The token printed by “cpsyncd admin add --name NAME” on the county server. It is kept only in this browser tab.</p>
              <p id="signin-error" class="error" role="alert" data-testid="signin-error" hidden></p>
              <button type="submit" id="signin" data-testid="signin-button" data-i18n="signIn">Sign in</button>
            </form>
          </section>

          <section id="sites-view" data-testid="sites-view" hidden>
            <div class="heading-row">
              <h2 data-i18n="sitesTitle">Offices: sync state</h2>
              <button type="button" id="sites-refresh" class="secondary" data-testid="sites-refresh" data-i18n="refresh">Refresh</button>
            </div>
            <p id="sites-summary" class="summary" data-testid="sites-summary"></p>
            <div class="table-wrap">
              <table id="sites-table" class="data stack" data-testid="sites-table">
                <thead><tr>
                  <th data-i18n="colOffice">Office</th>
                  <th data-i18n="colLastPush">Last push</th>
                  <th data-i18n="colLastPull">Last pull</th>
                  <th data-i18n="colPending">Waiting to be pulled</th>
                  <th data-i18n="colHeld">Held back</th>
                  <th data-i18n="colToken">Token</th>
                </tr></thead>
                <tbody id="sites-rows" data-testid="sites-list"></tbody>
              </table>
            </div>
            <p class="hint" data-i18n="sitesHint">Pending: records changed at the county since the office last pulled. Held back: pushes the county refused (a clock too far ahead, or values and records it may not write); the office keeps those changes until they are fixed.</p>
          </section>

          <section id="accounts-view" data-testid="accounts-view" hidden>
            <h2 data-i18n="manageTitle">Sites and tokens</h2>
            <div id="token-box" class="token-box" role="status" data-testid="token-box" hidden>
              <p id="token-box-text" data-testid="token-box-text"></p>
              <code id="token-value" class="token" data-testid="token-value"></code>
              <p id="token-once" class="hint" data-testid="token-once" data-i18n="tokenOnce">Shown only this once: give it to the office now (cpsync init --token …). It is not stored in this page.</p>
              <button type="button" id="token-box-close" class="secondary" data-testid="token-box-close" data-i18n="done">Done</button>
            </div>
            <div id="manage-confirm" class="confirm" role="dialog" aria-labelledby="manage-confirm-text" data-testid="manage-confirm" hidden>
              <p id="manage-confirm-text" data-testid="manage-confirm-text"></p>
              <div class="action-buttons">
                <button type="button" id="manage-confirm-yes" class="primary" data-testid="manage-confirm-yes" data-i18n="confirm">Confirm</button>
                <button type="button" id="manage-confirm-no" class="secondary" data-testid="manage-confirm-no" data-i18n="cancel">Cancel</button>
              </div>
            </div>
            <div class="table-wrap">
              <table id="manage-table" class="data stack" data-testid="manage-table">
                <thead><tr>
                  <th data-i18n="colOffice">Office</th>
                  <th data-i18n="colKind">Kind</th>
                  <th data-i18n="colToken">Token</th>
                  <th data-i18n="colMove">Move under</th>
                  <th data-i18n="colActions">Actions</th>
                </tr></thead>
                <tbody id="manage-rows" data-testid="manage-list"></tbody>
              </table>
            </div>
            <h3 data-i18n="addSiteTitle">Add a site</h3>
            <form id="add-site" class="filters" data-testid="add-site" novalidate>
              <label><span data-i18n="siteName">Name</span>
                <input id="add-name" type="text" autocomplete="off" maxlength="100" data-testid="add-name">
              </label>
              <label><span data-i18n="siteId">Id (a–z, 0–9, - or _)</span>
                <input id="add-id" type="text" autocomplete="off" spellcheck="false" maxlength="64" data-testid="add-id">
              </label>
              <label><span data-i18n="colKind">Kind</span>
                <select id="add-kind" data-testid="add-kind"></select>
              </label>
              <label><span data-i18n="siteParent">Under</span>
                <select id="add-parent" data-testid="add-parent"></select>
              </label>
              <div class="filter-buttons">
                <button type="submit" id="add-submit" data-testid="add-submit" data-i18n="addSite">Add and issue token</button>
              </div>
            </form>
            <p id="add-error" class="error" role="alert" data-testid="add-error" hidden></p>
            <h3 data-i18n="adminsTitle">Admin accounts</h3>
            <div class="table-wrap">
              <table id="admins-table" class="data stack" data-testid="admins-table">
                <thead><tr>
                  <th data-i18n="colAdmin">Admin</th>
                  <th data-i18n="colCreated">Created</th>
                  <th data-i18n="colToken">Token</th>
                  <th data-i18n="colActions">Actions</th>
                </tr></thead>
                <tbody id="admin-rows" data-testid="admins-list"></tbody>
              </table>
            </div>
            <h3 data-i18n="addAdminTitle">Add an admin</h3>
            <form id="add-admin" class="filters" data-testid="add-admin" novalidate>
              <label><span data-i18n="adminName">Name (1–64 characters)</span>
                <input id="add-admin-name" type="text" autocomplete="off" maxlength="64" data-testid="add-admin-name">
              </label>
              <div class="filter-buttons">
                <button type="submit" id="add-admin-submit" data-testid="add-admin-submit" data-i18n="addAdmin">Add and issue token</button>
              </div>
            </form>
            <p id="add-admin-error" class="error" role="alert" data-testid="add-admin-error" hidden></p>
            <p class="hint" data-i18n="adminsHint">Admins can also be managed on the county server: cpsyncd admin add --name NAME / cpsyncd admin token NAME / cpsyncd admin revoke NAME.</p>
          </section>

          <section id="list-view" data-testid="list-view" hidden>
            <h2 data-i18n="listTitle">Conflicts</h2>
            <form id="filters" class="filters" data-testid="filters" novalidate>
              <label><span data-i18n="filterStatus">Status</span>
                <select id="filter-status" data-testid="filter-status">
                  <option value="open" data-i18n="statusOpen">open</option>
                  <option value="resolved" data-i18n="statusResolved">resolved</option>
                  <option value="all" data-i18n="statusAll">all</option>
                </select>
              </label>
              <label><span data-i18n="filterTable">Table</span>
                <select id="filter-table" data-testid="filter-table"><option value="" data-i18n="anyTable">all tables</option></select>
              </label>
              <label><span data-i18n="filterSite">Office (site id)</span>
                <input id="filter-site" type="text" autocomplete="off" spellcheck="false" data-testid="filter-site">
              </label>
              <label><span data-i18n="filterFrom">Detected from</span>
                <input id="filter-from" type="date" data-testid="filter-from">
              </label>
              <label><span data-i18n="filterTo">to</span>
                <input id="filter-to" type="date" data-testid="filter-to">
              </label>
              <div class="filter-buttons">
                <button type="submit" id="filter-apply" data-testid="filter-apply" data-i18n="apply">Show</button>
                <button type="button" id="filter-reset" class="secondary" data-testid="filter-reset" data-i18n="reset">Reset</button>
              </div>
            </form>
            <p id="list-summary" class="summary" data-testid="list-summary"></p>
            <div class="table-wrap">
              <table id="conflict-table" class="data stack" data-testid="conflict-table">
                <thead><tr>
                  <th data-i18n="colId">#</th>
                  <th data-i18n="colWhat">Table · field</th>
                  <th data-i18n="colRow">Record</th>
                  <th data-i18n="colWinner">Current value · decision</th>
                  <th data-i18n="colOther">Other value · note</th>
                  <th data-i18n="colDetected">Detected</th>
                  <th data-i18n="colStatus">Status</th>
                  <th><span class="visually-hidden" data-i18n="colActions">Actions</span></th>
                </tr></thead>
                <tbody id="conflict-rows" data-testid="conflict-list"></tbody>
              </table>
            </div>
          </section>

          <section id="detail-view" data-testid="detail-view" hidden>
            <p class="back"><a href="#/conflicts" data-testid="back" data-i18n="back">← all conflicts</a></p>
            <div id="detail" data-testid="conflict-detail"></div>
          </section>

          <section id="audit-view" data-testid="audit-view" hidden>
            <h2 data-i18n="auditTitle">Audit trail</h2>
            <p id="audit-summary" class="summary" data-testid="audit-summary"></p>
            <div class="table-wrap">
              <table class="data stack" data-testid="audit-table">
                <thead><tr>
                  <th data-i18n="auditAt">When</th>
                  <th data-i18n="auditBy">Who</th>
                  <th data-i18n="auditAction">Action</th>
                  <th data-i18n="auditWhat">Record · field</th>
                  <th data-i18n="auditBefore">Before</th>
                  <th data-i18n="auditAfter">After</th>
                  <th data-i18n="auditNote">Note</th>
                </tr></thead>
                <tbody id="audit-rows" data-testid="audit-list"></tbody>
              </table>
            </div>
            <h2 data-i18n="accountsTitle">Sites, tokens and admins</h2>
            <p id="accounts-summary" class="summary" data-testid="accounts-summary"></p>
            <div class="table-wrap">
              <table class="data stack" data-testid="accounts-table">
                <thead><tr>
                  <th data-i18n="auditAt">When</th>
                  <th data-i18n="auditBy">Who</th>
                  <th data-i18n="auditAction">Action</th>
                  <th data-i18n="accountsSubject">Site or admin</th>
                  <th data-i18n="accountsDetail">Detail</th>
                </tr></thead>
                <tbody id="accounts-rows" data-testid="accounts-list"></tbody>
              </table>
            </div>
          </section>
        </main>
        <footer class="foot"><span data-i18n="footer">cpsyncd · county server</span></footer>
        </body>
        </html>

        """#
}
