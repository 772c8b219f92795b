// The admin page's script, served as /admin/app.js. Plain ES2020, no libraries. Every piece of server data reaches
// the page through textContent/createTextNode (the `el` helper), never through markup, so a proposal titled
// `<img src=x onerror=alert(1)>` shows exactly those characters. Embedded in cpsyncd at build time.
'use strict';
(function () {
  const zh = (navigator.language || '').toLowerCase().startsWith('zh');
  const TOKEN_KEY = 'cpsync.adminToken';
  const MAX_DIFF = 2000;
  /** Values of at most this many characters are compared as a whole (a name, a sector), not character by character. */
  const SHORT = 8;

  const EN = {
    title: 'CPPCC data sync · county admin', navConflicts: 'Conflicts', navAudit: 'Audit trail', signOut: 'Sign out',
    signInTitle: 'Sign in', tokenLabel: 'Admin token',
    tokenHint: 'The token printed by “cpsyncd admin add --name NAME” on the county server. It is kept only in this browser tab.',
    signIn: 'Sign in', listTitle: 'Conflicts', filterStatus: 'Status', filterTable: 'Table', filterSite: 'Office', anyOffice: 'all offices',
    filterFrom: 'Detected from', filterTo: 'to', apply: 'Show', reset: 'Reset', anyTable: 'all tables',
    statusOpen: 'open', statusResolved: 'resolved', statusAll: 'all',
    colId: '#', colWhat: 'Table · field', colRow: 'Record', colWinner: 'Current value · decision', colOther: 'Other value · note',
    colDetected: 'Detected', colStatus: 'Status', colActions: 'Actions', back: '← all conflicts',
    navFiles: 'Attachments', filesTitle: 'Attached files', filesSearch: 'File or record', filesRecord: 'Record', filesName: 'File',
    filesSize: 'Size', filesAdded: 'Added', filesPreview: 'Preview', filesDownload: 'Download', filesShow: 'Show',
    filesMissing: 'not at the county yet (the office has not sent it)', filesNone: 'No attached files.',
    filesCount: (n) => n === 1 ? '1 file' : n + ' files', filesFetching: 'Fetching…',
    auditTitle: 'Audit trail', auditAt: 'When', auditBy: 'Who', auditAction: 'Action', auditWhat: 'Record · field',
    auditBefore: 'Before', auditAfter: 'After', auditNote: 'Note', footer: 'cpsyncd · county server',
    accountsTitle: 'Sites, tokens and admins', accountsSubject: 'Site or admin', accountsDetail: 'Detail',
    accountsCount: (n) => n === 1 ? '1 change' : n + ' changes', accountsNone: 'No changes to sites, tokens or admins yet.',
    accountActions: { 'site-add': 'site added', 'site-revoke': 'site token revoked', 'site-activate': 'site re-activated (new token)',
      'site-token': 'new site token issued', 'site-move': 'site moved', 'site-kind': 'site kind changed', 'admin-add': 'admin added', 'admin-revoke': 'admin token revoked', 'admin-token': 'new admin token issued', 'admin-activate': 'admin re-activated (new token)', 'record-move': 'record moved to another site', 'record-delete-not-applied': 'deletion not applied (the record had moved to another site)' },
    moved: (from, to) => 'parent ' + from + ' → ' + to, kindMoved: (from, to) => 'kind ' + from + ' → ' + to,
    tokenMissing: 'Enter the admin token.', signingIn: 'Signing in…', signedOut: 'Signed out.',
    loading: 'Loading…', review: 'Review', count: (n) => n === 1 ? '1 conflict' : n + ' conflicts',
    none: 'No conflicts match these filters.', auditCount: (n) => n === 1 ? '1 entry' : n + ' entries',
    auditNone: 'No audit entries yet.', wins: 'wins', winner: 'Current value (wins)', other: 'Other value',
    winsExplained: '“wins”: the value the automatic merge kept; every office has it now, until an admin decides otherwise.',
    writtenBy: 'written by', at: 'at', detected: 'Detected', record: 'Record', key: 'key',
    nullValue: '(no value)', emptyText: '(empty text)', blob: (n) => 'binary data, ' + n + ' bytes',
    diffLegend: 'Highlighted: where the other value differs from the current one.',
    diffTooLong: 'The values are too long to compare character by character.',
    onlyHere: 'not in the current value',
    actionsTitle: 'Resolve', keep: 'Keep the current value', takeOther: 'Take the other value', setValue: 'Set a new value',
    newValue: 'New value', typeInteger: 'a whole number', typeReal: 'a number', typeText: 'text',
    newValueHint: (t) => 'Typed like the current value: ' + t + '.',
    newValueTakes: (t) => 'This field takes ' + t + '.',
    confirmTitle: 'Please confirm', note: 'Note (optional)', confirm: 'Confirm', cancel: 'Cancel',
    confirmKeep: (f, v) => 'Keep “' + v + '” as ' + f + '.',
    confirmTake: (f, v) => 'Replace ' + f + ' with the other value “' + v + '”.',
    confirmSet: (f, v) => 'Set ' + f + ' to “' + v + '”.',
    confirmSync: 'The decision is written as a new change; every office receives it at its next sync.',
    resolving: 'Saving…', resolved: (id, f, v) => 'Conflict ' + id + ' resolved: ' + f + ' = “' + v + '”.',
    resolutionTitle: 'Resolution', by: 'By', before: 'Before', after: 'Written', noteLabel: 'Note', when: 'When',
    winnerThen: 'Merge winner (when detected)',
    actions: { keep: 'kept the current value', 'take-other': 'took the other value', set: 'set a new value' },
    badInteger: 'Enter a whole number (for example 2025).', badReal: 'Enter a number (for example 2.5).',
    noSetBlob: 'Binary values cannot be typed in; keep one of the two values instead.',
    err401: 'The token was not accepted (unknown or revoked). Sign in again with a valid admin token.',
    err403: 'This token may not review conflicts: it is an office (site) token. Sign in with an admin token.',
    err404: 'Not found: the conflict does not exist (any more).',
    err409: 'This conflict was already resolved (perhaps by another admin). The current state is shown below.',
    err400: 'The server refused the request: ', errNetwork: 'Cannot reach the county server. Check the network and try again.',
    errServer: 'The server reported an error: ', errHttp: 'Unexpected answer from the server: HTTP ',
    navSites: 'Offices', navAccounts: 'Sites and tokens', sitesTitle: 'Offices: sync state', refresh: 'Refresh',
    colOffice: 'Office', colLastPush: 'Last push', colLastPull: 'Last pull', colPending: 'Waiting to be pulled',
    colHeld: 'Held back', colToken: 'Token', colKind: 'Kind', colMove: 'Move under', colAdmin: 'Admin', colCreated: 'Created',
    sitesHint: 'Waiting to be pulled: records changed at the county since the office last pulled. Held back: pushes the county refused (a clock too far ahead, or values and records the office may not write); the office keeps those changes until they are fixed.',
    sitesCount: (n, k) => n + (n === 1 ? ' office' : ' offices') + (k ? ' · ' + k + ' need attention' : ' · all fine'),
    sitesNone: 'No offices yet: add one under “Sites and tokens”.', serverTime: 'server time',
    ago: (s) => s < 60 ? 'just now' : s < 3600 ? Math.floor(s / 60) + ' min ago' : s < 86400 ? Math.floor(s / 3600) + ' h ago'
      : Math.floor(s / 86400) + (Math.floor(s / 86400) === 1 ? ' day ago' : ' days ago'),
    never: 'never', neverPulled: 'never pulled', upToDate: 'up to date',
    pendingRecords: (n, more) => (more ? 'more than ' + n : n) + (n === 1 && !more ? ' record' : ' records'),
    pushedChanges: (n) => n === 1 ? '1 change applied' : n + ' changes applied',
    unsent: (n) => 'office reported ' + n + ' unsent',
    clockAhead: (m) => 'clock ' + m + ' min ahead: pushes refused', refused: (n, why) => n + (n === 1 ? ' change' : ' changes') + ' refused (' + why + ')',
    refusedTimes: (n) => n === 1 ? 'refused once' : 'refused ' + n + ' times', reason: 'server message', noneHeld: 'none',
    codes: { forbidden: 'not the office’s to write', wrong_type: 'wrong type of value', malformed_key: 'bad record key',
      value_too_large: 'value too long', constraint_violated: 'value not allowed', unknown_column: 'unknown field',
      unknown_table: 'unknown table', bad_request: 'malformed' },
    tokenStatus: { active: 'active', revoked: 'revoked', unused: 'never used' },
    kinds: { county: 'county CPPCC', township: 'township committee', street: 'street office', station: 'liaison station' },
    manageTitle: 'Sites and tokens', tokenOnce: 'Shown only this once: give it to the office now (cpsync init --token …). It is not stored in this page.',
    done: 'Done', copy: 'Copy', copied: 'Copied.', copyFailed: 'Could not copy automatically: the token is selected, press Ctrl+C.',
    chooseKind: '(choose)', badKindMissing: 'Choose the site’s kind.', changeKind: 'Change',
    confirmKind: (n, k) => 'Make ' + n + ' a ' + k + '? Every office receives the change at its next sync.',
    kindChanged: (n, k) => n + ' is now a ' + k + '.',
    addSiteTitle: 'Add a site', siteName: 'Name', siteId: 'Id (a–z, 0–9, - or _)', siteParent: 'Under',
    addSite: 'Add and issue token', noParent: '(top of the tree)', adminsTitle: 'Admin accounts',
    adminsHint: 'Admins can also be managed on the county server: cpsyncd admin add --name NAME / cpsyncd admin token NAME / cpsyncd admin revoke NAME.',
    addAdminTitle: 'Add an admin', adminName: 'Name (1–64 characters)', addAdmin: 'Add and issue token', you: '(you)',
    adminTokenOnce: 'Shown only this once: give it to the new admin in person; they sign in to this page with it. It is not stored in this page.',
    adminAdded: (n) => 'Admin ' + n + ' was added. Their token:', adminTokenFor: (n) => 'New token for admin ' + n + ':',
    adminRevoked: (n) => 'Admin ' + n + ' was revoked; their token no longer works.',
    confirmAdminToken: (n) => 'Issue a new token for admin ' + n + '? Their current token stops working at once.',
    confirmAdminTokenSelf: 'Issue a new token for your own account? This page switches to the new token; the old one stops working at once.',
    confirmAdminRevoke: (n) => 'Revoke admin ' + n + '? Their token stops working at once; the audit trail keeps their name.',
    confirmAdminRevokeSelf: 'Revoke your own admin account? You are signed out at once and can no longer sign in with this token.',
    badAdminName: 'Enter a name of 1–64 characters, without spaces at either end.',
    adminExistsHere: (n) => 'Admin ' + n + ' already exists; choose another name, or issue a new token in the table above.',
    lastAdmin: 'Keep at least one active admin account: add another admin before revoking this one.',
    selfRevoked: 'Your admin account was revoked; you are signed out.',
    issueToken: 'New token', revokeToken: 'Revoke token', move: 'Move',
    confirmToken: (n) => 'Issue a new token for ' + n + '? Its current token stops working at once.',
    confirmRevoke: (n) => 'Revoke the token of ' + n + '? The office can no longer sync until it gets a new token; its data stays.',
    confirmMove: (n, p) => 'Move ' + n + ' under ' + p + '? Every office receives the new tree at its next sync.',
    tokenFor: (n) => 'New token for ' + n + ':', revoked: (n) => 'The token of ' + n + ' was revoked.',
    movedTo: (n, p) => n + ' now sits under ' + p + '.', added: (n) => n + ' was added. Its token:',
    badSiteId: 'The id must be 1–64 characters: a–z, 0–9, “-” or “_”.', badSiteName: 'Enter the site’s name.',
    badPlacement: (k, p) => 'A ' + k + ' cannot sit under a ' + p + '.', kept: 'kept', noNote: 'no note',
    replaced: 'replaced', technical: 'Technical details', adminAction: 'admin',
    detailKeys: { kind: 'kind', parent: 'parent', name: 'name', token: 'token tag', from: 'from', to: 'to' },
  };
  const ZH = {
    title: '政协数据同步 · 县级管理', navConflicts: '冲突', navAudit: '审计记录', signOut: '退出',
    signInTitle: '登录', tokenLabel: '管理员令牌',
    tokenHint: '在县级服务器上运行“cpsyncd admin add --name 姓名”时打印的令牌。令牌只保存在本浏览器标签页中。',
    signIn: '登录', listTitle: '冲突列表', filterStatus: '状态', filterTable: '数据表', filterSite: '单位', anyOffice: '全部单位',
    filterFrom: '发现日期 从', filterTo: '至', apply: '查询', reset: '重置', anyTable: '全部数据表',
    statusOpen: '待处理', statusResolved: '已处理', statusAll: '全部',
    colId: '编号', colWhat: '数据表 · 字段', colRow: '记录', colWinner: '当前值／处理结果', colOther: '另一值／备注',
    colDetected: '发现时间', colStatus: '状态', colActions: '操作', back: '← 返回冲突列表',
    navFiles: '附件', filesTitle: '附件', filesSearch: '文件名或记录', filesRecord: '所属记录', filesName: '文件', filesSize: '大小',
    filesAdded: '添加', filesPreview: '预览', filesDownload: '下载', filesShow: '显示',
    filesMissing: '县里尚无此文件（添加它的办公室尚未发送）', filesNone: '暂无附件。', filesCount: (n) => '共 ' + n + ' 个文件', filesFetching: '正在下载…',
    auditTitle: '审计记录', auditAt: '时间', auditBy: '操作人', auditAction: '操作', auditWhat: '记录 · 字段',
    auditBefore: '原值', auditAfter: '新值', auditNote: '备注', footer: 'cpsyncd · 县级服务器',
    accountsTitle: '站点、令牌和管理员', accountsSubject: '站点或管理员', accountsDetail: '详情',
    accountsCount: (n) => '共 ' + n + ' 条变更', accountsNone: '暂无站点、令牌或管理员的变更。',
    accountActions: { 'site-add': '新增站点', 'site-revoke': '吊销站点令牌', 'site-activate': '重新启用站点（新令牌）',
      'site-token': '更换站点令牌', 'site-move': '调整站点上级', 'site-kind': '更改站点类别', 'admin-add': '新增管理员', 'admin-revoke': '吊销管理员令牌', 'admin-token': '更换管理员令牌', 'admin-activate': '重新启用管理员（新令牌）', 'record-move': '记录变更所属站点', 'record-delete-not-applied': '删除未执行（该记录已转到其他站点）' },
    moved: (from, to) => '上级 ' + from + ' → ' + to, kindMoved: (from, to) => '类别 ' + from + ' → ' + to,
    tokenMissing: '请输入管理员令牌。', signingIn: '正在登录…', signedOut: '已退出。',
    loading: '正在加载…', review: '审核', count: (n) => '共 ' + n + ' 条冲突',
    none: '没有符合条件的冲突。', auditCount: (n) => '共 ' + n + ' 条记录', auditNone: '暂无审计记录。',
    wins: '胜出', winner: '当前值（胜出）', other: '另一值',
    winsExplained: '“胜出”：自动合并时保留的值，目前各单位看到的都是它；管理员处理后以处理结果为准。',
    writtenBy: '写入单位', at: '时间', detected: '发现时间', record: '记录', key: '主键',
    nullValue: '（无值）', emptyText: '（空文本）', blob: (n) => '二进制数据，' + n + ' 字节',
    diffLegend: '高亮部分：另一值与当前值不同之处。', diffTooLong: '内容过长，无法逐字比较。', onlyHere: '当前值中没有',
    actionsTitle: '处理', keep: '保留当前值', takeOther: '采用另一值', setValue: '设为新值',
    newValue: '新值', typeInteger: '整数', typeReal: '数字', typeText: '文本',
    newValueHint: (t) => '按当前值的类型填写：' + t + '。',
    newValueTakes: (t) => '此字段应填：' + t + '。',
    confirmTitle: '请确认', note: '备注（可选）', confirm: '确认', cancel: '取消',
    confirmKeep: (f, v) => '保留“' + v + '”作为' + f + '。',
    confirmTake: (f, v) => '将' + f + '改为另一值“' + v + '”。',
    confirmSet: (f, v) => '将' + f + '设为“' + v + '”。',
    confirmSync: '处理结果作为一次新的修改写入，各单位下次同步时都会收到。',
    resolving: '正在保存…', resolved: (id, f, v) => '冲突 ' + id + ' 已处理：' + f + ' =“' + v + '”。',
    resolutionTitle: '处理结果', by: '处理人', before: '原值', after: '写入值', noteLabel: '备注', when: '处理时间',
    winnerThen: '合并时胜出值（发现冲突时）',
    actions: { keep: '保留当前值', 'take-other': '采用另一值', set: '设为新值' },
    badInteger: '请输入整数（例如 2025）。', badReal: '请输入数字（例如 2.5）。',
    noSetBlob: '二进制数据无法直接输入，请保留两个值中的一个。',
    err401: '令牌无效（不存在或已被吊销），请使用有效的管理员令牌重新登录。',
    err403: '该令牌无权审核冲突：这是单位（站点）令牌，请使用管理员令牌登录。',
    err404: '未找到：该冲突不存在（或已被删除）。',
    err409: '该冲突已被处理（可能是其他管理员）。下方显示的是当前状态。',
    err400: '服务器拒绝了请求：', errNetwork: '无法连接县级服务器，请检查网络后重试。',
    errServer: '服务器出错：', errHttp: '服务器返回了意外的结果：HTTP ',
    navSites: '同步概况', navAccounts: '站点与令牌', sitesTitle: '各单位同步情况', refresh: '刷新',
    colOffice: '单位', colLastPush: '最近推送', colLastPull: '最近拉取', colPending: '待拉取',
    colHeld: '暂缓（被拒）', colToken: '令牌', colKind: '类别', colMove: '调整上级', colAdmin: '管理员', colCreated: '创建时间',
    sitesHint: '待拉取：该单位上次拉取之后县里有变动的记录。暂缓：县级服务器拒收的推送（电脑时钟超前太多，或无权写入、数值不合规的记录）；这些修改保留在该单位，改正后会自动推送。',
    sitesCount: (n, k) => '共 ' + n + ' 个单位' + (k ? ' · ' + k + ' 个需要处理' : ' · 均正常'),
    sitesNone: '还没有单位：请在“站点与令牌”中添加。', serverTime: '服务器时间',
    ago: (s) => s < 60 ? '刚刚' : s < 3600 ? Math.floor(s / 60) + ' 分钟前' : s < 86400 ? Math.floor(s / 3600) + ' 小时前' : Math.floor(s / 86400) + ' 天前',
    never: '从未', neverPulled: '从未拉取', upToDate: '已是最新',
    pendingRecords: (n, more) => (more ? '超过 ' : '') + n + ' 条记录',
    pushedChanges: (n) => '应用 ' + n + ' 项修改',
    unsent: (n) => '单位报告待推送 ' + n + ' 项',
    clockAhead: (m) => '电脑时钟超前约 ' + m + ' 分钟，推送被拒', refused: (n, why) => n + ' 项修改被拒（' + why + '）',
    refusedTimes: (n) => '累计被拒 ' + n + ' 次', reason: '服务器说明', noneHeld: '无',
    codes: { forbidden: '无权写入', wrong_type: '数值类型不符', malformed_key: '记录主键有误', value_too_large: '内容过长',
      constraint_violated: '数值不合规', unknown_column: '未知字段', unknown_table: '未知数据表', bad_request: '格式错误' },
    tokenStatus: { active: '有效', revoked: '已吊销', unused: '从未使用' },
    kinds: { county: '区/县政协', township: '乡镇政协工委', street: '街道委员工作室', station: '社区联络站' },
    manageTitle: '站点与令牌', tokenOnce: '令牌只显示这一次：请立即交给该单位（cpsync init --token …），本页面不会保存。',
    done: '完成', copy: '复制', copied: '已复制。', copyFailed: '无法自动复制：令牌已选中，请按 Ctrl+C 复制。',
    chooseKind: '（请选择）', badKindMissing: '请选择站点类别。', changeKind: '更改',
    confirmKind: (n, k) => '把“' + n + '”的类别改为' + k + '？各单位下次同步时收到。',
    kindChanged: (n, k) => '“' + n + '”的类别已改为' + k + '。',
    addSiteTitle: '添加站点', siteName: '名称', siteId: '标识（a–z、0–9、- 或 _）', siteParent: '上级',
    addSite: '添加并签发令牌', noParent: '（顶层，无上级）', adminsTitle: '管理员账户',
    adminsHint: '也可在县级服务器上管理：cpsyncd admin add --name 姓名 / cpsyncd admin token 姓名 / cpsyncd admin revoke 姓名。',
    addAdminTitle: '添加管理员', adminName: '姓名（1–64 个字符）', addAdmin: '添加并签发令牌', you: '（本人）',
    adminTokenOnce: '令牌只显示这一次：请当面交给这位管理员，用它登录本页面；本页面不会保存。',
    adminAdded: (n) => '已添加管理员“' + n + '”。其令牌：', adminTokenFor: (n) => '管理员“' + n + '”的新令牌：',
    adminRevoked: (n) => '已吊销管理员“' + n + '”，其令牌立即失效。',
    confirmAdminToken: (n) => '为管理员“' + n + '”签发新令牌？其当前令牌立即失效。',
    confirmAdminTokenSelf: '为你自己的账户签发新令牌？本页面随即改用新令牌，旧令牌立即失效。',
    confirmAdminRevoke: (n) => '吊销管理员“' + n + '”？其令牌立即失效；审计记录保留其姓名。',
    confirmAdminRevokeSelf: '吊销你自己的管理员账户？你将立即退出登录，此令牌不能再登录。',
    badAdminName: '请输入 1–64 个字符的姓名，首尾不能有空格。',
    adminExistsHere: (n) => '管理员“' + n + '”已存在；请换一个姓名，或在上表中为其签发新令牌。',
    lastAdmin: '至少保留一个有效的管理员账户：请先添加另一位管理员，再吊销此账户。',
    selfRevoked: '你的管理员账户已被吊销，已退出登录。',
    issueToken: '签发新令牌', revokeToken: '吊销令牌', move: '移动',
    confirmToken: (n) => '为“' + n + '”签发新令牌？其当前令牌立即失效。',
    confirmRevoke: (n) => '吊销“' + n + '”的令牌？在获得新令牌之前该单位无法同步；其数据保留。',
    confirmMove: (n, p) => '把“' + n + '”移到“' + p + '”之下？各单位下次同步时收到新的站点树。',
    tokenFor: (n) => '“' + n + '”的新令牌：', revoked: (n) => '已吊销“' + n + '”的令牌。',
    movedTo: (n, p) => '“' + n + '”已移到“' + p + '”之下。', added: (n) => '已添加“' + n + '”。其令牌：',
    badSiteId: '标识须为 1–64 个字符，只能包含 a–z、0–9、“-”或“_”。', badSiteName: '请输入站点名称。',
    badPlacement: (k, p) => k + '不能设在' + p + '之下。', kept: '已采用', noNote: '无备注',
    replaced: '替换了', technical: '技术信息', adminAction: '管理员',
    detailKeys: { kind: '类别', parent: '上级', name: '名称', token: '令牌标记', from: '原', to: '新' },
  };
  const T = zh ? ZH : EN;
  const TABLES = {
    sites: ['站点', 'site'], members: ['委员', 'member'], proposals: ['提案', 'proposal'],
    proposal_cosigners: ['联名', 'co-signer'], proposal_handlers: ['承办单位', 'handling unit'],
    social_reports: ['社情民意', 'social report'], activities: ['履职活动', 'activity'],
    activity_participants: ['活动参加人', 'participant'],
  };

  // ---- helpers -------------------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);

  /** Creates an element; strings among the children become text nodes (never markup). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  /** JSON.parse that keeps 64-bit HLCs exact (as strings): they exceed 2^53. */
  function parseJSON(text) {
    return JSON.parse(text.replace(/"(hlc|cursor|serverSeq)":(-?\d+)/g, '"$1":"$2"'));
  }

  function kind(v) {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') return 'text';
    if ('i' in v) return 'integer';
    if ('f' in v) return 'real';
    if ('b' in v) return 'blob';
    return 'unknown';
  }
  function valueText(v) {
    switch (kind(v)) {
      case 'null': return T.nullValue;
      case 'text': return v === '' ? T.emptyText : v;
      case 'integer': return v.i;
      case 'real': return Object.is(v.f, -0) ? '-0.0' : String(v.f);
      case 'blob': return T.blob(Math.floor(v.b.replace(/=+$/, '').length * 3 / 4));
      default: return JSON.stringify(v);
    }
  }
  function isPlaceholder(v) { return kind(v) === 'null' || v === '' || kind(v) === 'blob'; }
  function short(s, n) { const cps = Array.from(s); return cps.length > n ? cps.slice(0, n - 1).join('') + '…' : s; }
  function time(ms) {
    const d = new Date(Number(ms));
    if (isNaN(d.getTime())) return '';
    return d.toLocaleString(zh ? 'zh-CN' : 'en-GB', { year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }
  function siteText(side) { return side.siteName && side.siteName !== side.site ? side.siteName + ' (' + side.site + ')' : side.site; }
  function field(c) { return c.tableLabel + ' · ' + c.columnLabel; }
  function statusText(s) { return s === 'open' ? T.statusOpen : s === 'resolved' ? T.statusResolved : s; }
  function winBadge() { return el('span', { class: 'badge win', title: T.winsExplained, 'data-testid': 'win-badge', text: T.wins }); }
  function valueNode(v, testid) {
    return el('span', { class: isPlaceholder(v) ? 'value placeholder' : 'value', 'data-testid': testid }, valueText(v));
  }

  // ---- character-level diff (LCS on code points) ------------------------------------------------------
  /** Returns [{op:'eq'|'del'|'ins', text}] turning `a` into `b`, or null when a side is too long. */
  function diff(a, b) {
    const A = Array.from(a), B = Array.from(b);
    if (A.length > MAX_DIFF || B.length > MAX_DIFF) return null;
    let pre = 0;
    while (pre < A.length && pre < B.length && A[pre] === B[pre]) pre++;
    let suf = 0;
    while (suf < A.length - pre && suf < B.length - pre && A[A.length - 1 - suf] === B[B.length - 1 - suf]) suf++;
    const a2 = A.slice(pre, A.length - suf), b2 = B.slice(pre, B.length - suf);
    const n = a2.length, m = b2.length, w = m + 1;
    const L = new Uint16Array((n + 1) * w); // L[i*w+j]: LCS length of a2[i..] and b2[j..]
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        L[i * w + j] = a2[i] === b2[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
      }
    }
    const ops = [];
    const push = (op, ch) => {
      const last = ops[ops.length - 1];
      if (last && last.op === op) last.text += ch; else ops.push({ op, text: ch });
    };
    A.slice(0, pre).forEach((ch) => push('eq', ch));
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (a2[i] === b2[j]) { push('eq', a2[i]); i++; j++; }
      else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) { push('del', a2[i]); i++; }
      else { push('ins', b2[j]); j++; }
    }
    while (i < n) push('del', a2[i++]);
    while (j < m) push('ins', b2[j++]);
    A.slice(A.length - suf).forEach((ch) => push('eq', ch));
    return ops;
  }

  /** Whether two values are shown whole rather than compared character by character: numbers, values made of
   *  digits and their separators (a phone number, a date, an id number: one digit marked says less than the two
   *  numbers side by side), and short values. */
  function wholeValues(a, b) {
    if (kind(a) !== 'text' || kind(b) !== 'text') return true;
    const texts = [a, b];
    if (texts.every((t) => /^[0-9\s+\-().\/:,#*xX]*$/.test(t))) return true;
    return texts.every((t) => Array.from(t).length <= SHORT);
  }

  /** The two values side by side: the current value (the one kept) plain, and in the other value the characters
   *  the current one does not have highlighted. Null when the values are shown whole. */
  function diffNodes(winner, other) {
    const comparable = (v) => kind(v) === 'text' && v !== '';
    if (!comparable(winner) || !comparable(other) || wholeValues(winner, other)) return null;
    const ops = diff(valueText(winner), valueText(other));
    if (!ops) return { tooLong: true };
    const right = el('span', { class: 'value', 'data-testid': 'other-value' });
    for (const o of ops) {
      if (o.op === 'eq') right.appendChild(document.createTextNode(o.text));
      else if (o.op === 'ins') right.appendChild(el('ins', { class: 'diff-ins', title: T.onlyHere }, o.text));
    }
    return { right };
  }

  // ---- API --------------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json', 'Accept-Language': zh ? 'zh-CN,zh;q=0.9' : 'en' };
    if (token()) headers.Authorization = 'Bearer ' + token();
    const init = { method, headers, credentials: 'omit', cache: 'no-store', redirect: 'error' };
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    let res;
    try { res = await fetch(path, init); } catch (e) { throw new ApiError(0, 'network', T.errNetwork); }
    let text = '';
    try { text = await res.text(); } catch (e) { throw new ApiError(0, 'network', T.errNetwork); }
    let data = null;
    try { data = text ? parseJSON(text) : null; } catch (e) { data = null; }
    if (!res.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(res.status, err.code || '', err.message || '');
    }
    if (data === null) throw new ApiError(res.status, 'bad_response', T.errHttp + res.status);
    return data;
  }

  // ---- messages ---------------------------------------------------------------------------------------
  function banner(kindName, text) {
    const b = $('banner');
    b.textContent = text;
    b.setAttribute('data-kind', kindName);
    b.className = 'banner ' + kindName;
    b.hidden = false;
  }
  function hideBanner() { const b = $('banner'); b.hidden = true; b.textContent = ''; b.removeAttribute('data-kind'); }

  /** One place that turns an error into words, and signs out on 401. Returns true when handled as 409. */
  function showError(e) {
    if (!(e instanceof ApiError)) { banner('error', T.errServer + (e && e.message ? e.message : String(e))); return false; }
    const detail = e.message ? ' (' + e.message + ')' : '';
    switch (e.status) {
      case 0: banner('error', T.errNetwork); break;
      case 401: signOut(T.err401); break;
      case 403: banner('error', T.err403 + detail); break;
      case 404: banner('error', T.err404 + detail); break;
      case 409:
        if (e.code === 'conflict_resolved') { banner('error', T.err409); return true; }
        banner('error', T.errServer + e.message); break;
      case 400: banner('error', T.err400 + e.message); break;
      default: banner('error', (e.status >= 500 ? T.errServer : T.errHttp + e.status + ' ') + e.message);
    }
    return false;
  }

  // ---- views ------------------------------------------------------------------------------------------
  const views = ['signin-view', 'sites-view', 'accounts-view', 'list-view', 'detail-view', 'audit-view', 'files-view'];
  function show(view) {
    for (const v of views) $(v).hidden = v !== view;
    $('nav').hidden = view === 'signin-view';
    $('nav-sites').classList.toggle('current', view === 'sites-view');
    $('nav-accounts').classList.toggle('current', view === 'accounts-view');
    $('nav-conflicts').classList.toggle('current', view === 'list-view' || view === 'detail-view');
    $('nav-audit').classList.toggle('current', view === 'audit-view');
    $('nav-files').classList.toggle('current', view === 'files-view');
    document.body.setAttribute('data-view', view);
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    clear($('conflict-rows'));
    clear($('audit-rows'));
    clear($('files-rows'));
    clear($('accounts-rows'));
    clear($('detail'));
    for (const id of ['sites-rows', 'manage-rows', 'admin-rows', 'token-value', 'token-box-text']) clear($(id));
    const offices = $('filter-site');
    while (offices.options.length > 1) offices.remove(1);
    offices.removeAttribute('data-loaded');
    myName = null;
    $('add-admin-error').hidden = true;
    $('token-box').hidden = true;
    $('manage-confirm').hidden = true;
    manageAction = null;
    show('signin-view');
    hideBanner();
    const err = $('signin-error');
    if (message) { err.textContent = message; err.hidden = false; } else { err.hidden = true; }
    $('token').value = '';
    $('token').focus();
  }

  async function signIn(ev) {
    ev.preventDefault();
    const value = $('token').value.trim();
    const err = $('signin-error');
    if (!value) { err.textContent = T.tokenMissing; err.hidden = false; return; }
    err.hidden = true;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('signin').disabled = true;
    try {
      await api('GET', '/v1/admin/conflicts?status=open');
      $('token').value = '';
      hideBanner();
      route();
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      const msg = e instanceof ApiError && e.status === 401 ? T.err401
        : e instanceof ApiError && e.status === 403 ? T.err403
        : e instanceof ApiError && e.status === 0 ? T.errNetwork
        : T.errServer + e.message;
      err.textContent = msg;
      err.hidden = false;
    } finally {
      $('signin').disabled = false;
    }
  }

  function filterQuery() {
    const q = new URLSearchParams();
    q.set('status', $('filter-status').value);
    for (const [key, id] of [['table', 'filter-table'], ['site', 'filter-site'], ['from', 'filter-from'], ['to', 'filter-to']]) {
      const v = $(id).value.trim();
      if (v) q.set(key, v);
    }
    return q.toString();
  }

  /** The office filter's choices: every site by name, indented as in the tree; the choice made stays. */
  async function loadOfficeChoices() {
    let data;
    try { data = await api('GET', '/v1/admin/sites'); } catch (e) { return; }  // the list reports errors itself
    const select = $('filter-site');
    const chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const s of data.sites || []) select.appendChild(el('option', { value: s.id }, '\u00a0'.repeat(2 * (s.depth || 0)) + s.name));
    select.value = Array.from(select.options).some((o) => o.value === chosen) ? chosen : '';
    select.setAttribute('data-loaded', 'true');
  }

  let listGeneration = 0;
  async function loadList() {
    show('list-view');
    if ($('filter-site').getAttribute('data-loaded') !== 'true') await loadOfficeChoices();
    const gen = ++listGeneration;
    $('list-summary').textContent = T.loading;
    let data;
    try { data = await api('GET', '/v1/admin/conflicts?' + filterQuery()); } catch (e) {
      if (gen === listGeneration) { $('list-summary').textContent = ''; showError(e); }
      return;
    }
    if (gen !== listGeneration) return;
    const rows = $('conflict-rows');
    clear(rows);
    const list = data.conflicts || [];
    $('list-summary').textContent = list.length ? T.count(list.length) : T.none;
    $('wins-legend').hidden = !list.some((c) => c.status === 'open');
    for (const c of list) {
      const side = (s, testid, wins) => el('td', { class: 'side' },
        el('div', {}, valueNode(s.value, testid), wins ? winBadge() : null),
        el('div', { class: 'meta' }, siteText(s) + ' · ' + time(s.at)));
      const r = c.status === 'resolved' ? c.resolution : null;
      // A resolved conflict shows what the admin decided, not the merge's winner of the time.
      const decision = () => el('td', { class: 'side', 'data-testid': 'list-decision' },
        el('div', {}, valueNode(r.value, 'list-decision-value'), el('span', { class: 'badge kept', text: T.kept })),
        el('div', { class: 'meta', 'data-testid': 'list-decision-meta' }, (T.actions[r.action] || r.action) + ' · ' + r.by + ' · ' + time(r.at)));
      const note = () => el('td', { class: 'side' },
        r.note ? el('div', { class: 'note', 'data-testid': 'list-decision-note' }, r.note) : el('div', { class: 'meta' }, T.noNote),
        el('div', { class: 'meta' }, T.replaced + ' ' + valueText(r.before)));
      const open = el('a', { href: '#/conflicts/' + encodeURIComponent(c.id), class: 'button', 'data-testid': 'open-conflict' }, T.review);
      rows.appendChild(el('tr', { 'data-testid': 'conflict-row', 'data-conflict-id': c.id, class: 'status-' + c.status },
        el('td', { class: 'num' }, c.id),
        el('td', { 'data-testid': 'conflict-field' }, field(c)),
        el('td', { 'data-testid': 'conflict-row-label', class: 'row-label' }, c.rowLabel),
        r ? decision() : side(c.winner, 'list-winner-value', true),
        r ? note() : side(c.other, 'list-other-value', false),
        el('td', { class: 'when' }, time(c.detectedAt)),
        el('td', {}, el('span', { class: 'badge status ' + c.status, 'data-testid': 'conflict-status' }, statusText(c.status))),
        el('td', {}, open)));
    }
    for (const v of rows.querySelectorAll('.value, .note')) v.textContent = short(v.textContent, 80);
    labelCells($('conflict-table'));
  }

  // The conflict on screen and the action awaiting confirmation.
  let current = null;
  let pending = null;

  async function loadDetail(id) {
    show('detail-view');
    const box = $('detail');
    clear(box);
    box.appendChild(el('p', { class: 'summary' }, T.loading));
    try { current = await api('GET', '/v1/admin/conflicts/' + encodeURIComponent(id)); } catch (e) {
      clear(box);
      showError(e);
      return;
    }
    renderDetail();
  }

  function setType(c) {
    const sample = kind(c.winner.value) !== 'null' ? c.winner.value : c.other.value;
    return kind(sample) === 'null' ? 'text' : kind(sample);
  }

  function renderDetail() {
    const c = current;
    const box = $('detail');
    clear(box);
    pending = null;
    box.setAttribute('data-conflict-id', c.id);
    box.setAttribute('data-status', c.status);
    box.appendChild(el('h2', { 'data-testid': 'detail-title' }, field(c)));
    box.appendChild(el('p', { class: 'row-info' },
      el('span', { class: 'row-label', 'data-testid': 'row-label' }, c.rowLabel),
      el('span', { class: 'badge status ' + c.status, 'data-testid': 'detail-status' }, statusText(c.status))));
    box.appendChild(el('p', { class: 'meta' }, '#' + c.id + ' · ' + T.detected + ' ' + time(c.detectedAt)));
    if (c.resolution) box.appendChild(resolutionPanel(c.resolution));

    const d = diffNodes(c.winner.value, c.other.value);
    const card = (title, s, valueEl, cls, testid, wins) => el('article', { class: 'side-card ' + cls, 'data-testid': testid },
      el('h3', {}, title, wins ? winBadge() : null),
      el('p', { class: 'meta', 'data-testid': testid + '-site' }, T.writtenBy + ' ' + siteText(s) + ' · ' + time(s.at)),
      el('div', { class: 'value-box' }, valueEl));
    box.appendChild(el('div', { class: 'compare', 'data-testid': 'compare' },
      card(c.status === 'open' ? T.winner : T.winnerThen, c.winner, valueNode(c.winner.value, 'winner-value'), 'winner', 'winner-card', c.status === 'open'),
      card(T.other, c.other, d && d.right ? d.right : valueNode(c.other.value, 'other-value'), 'other', 'other-card', false)));
    if (c.status === 'open') box.appendChild(el('p', { class: 'hint', 'data-testid': 'wins-legend' }, T.winsExplained));
    if (d && d.right) box.appendChild(el('p', { class: 'hint legend', 'data-testid': 'diff-legend' }, el('ins', { class: 'diff-ins' }, 'abc'), ' ', T.diffLegend));
    if (d && d.tooLong) box.appendChild(el('p', { class: 'hint' }, T.diffTooLong));

    if (c.status === 'open') box.appendChild(actionsPanel(c));
    // The record's key and the raw names are for whoever debugs the sync, not for the clerk.
    box.appendChild(el('details', { class: 'technical', 'data-testid': 'technical' }, el('summary', {}, T.technical),
      el('p', { class: 'meta' }, c.table + '.' + c.column + ' · ' + T.key + ' ', el('code', { 'data-testid': 'detail-pk' }, c.pk))));
  }

  function actionsPanel(c) {
    const type = setType(c);
    const typeName = type === 'integer' ? T.typeInteger : type === 'real' ? T.typeReal : T.typeText;
    const input = el('input', { id: 'set-value', type: 'text', autocomplete: 'off', 'data-testid': 'set-value',
      inputmode: type === 'integer' || type === 'real' ? 'decimal' : null, 'aria-describedby': 'set-hint' });
    if (type === 'blob') input.disabled = true;
    const panel = el('section', { class: 'actions', 'data-testid': 'actions' },
      el('h3', {}, T.actionsTitle),
      el('div', { class: 'action-buttons' },
        el('button', { type: 'button', id: 'action-keep', 'data-testid': 'action-keep' }, T.keep),
        el('button', { type: 'button', id: 'action-take-other', 'data-testid': 'action-take-other' }, T.takeOther)),
      el('div', { class: 'set-row' },
        el('label', { for: 'set-value' }, T.newValue),
        input,
        el('button', { type: 'button', id: 'action-set', 'data-testid': 'action-set', disabled: type === 'blob' }, T.setValue)),
      // What the field takes when it has a rule (the county checks it: a phone number, a date…), else its type.
      el('p', { class: 'hint', id: 'set-hint', 'data-testid': 'set-hint' }, type === 'blob' ? T.noSetBlob : c.expects ? T.newValueTakes(c.expects) : T.newValueHint(typeName)),
      el('p', { class: 'error', id: 'set-error', role: 'alert', 'data-testid': 'set-error', hidden: true }),
      confirmPanel());
    panel.querySelector('#action-keep').addEventListener('click', () => ask({ action: 'keep' }, T.confirmKeep(c.columnLabel, valueText(c.winner.value))));
    panel.querySelector('#action-take-other').addEventListener('click', () => ask({ action: 'take-other' }, T.confirmTake(c.columnLabel, valueText(c.other.value))));
    panel.querySelector('#action-set').addEventListener('click', () => {
      const raw = input.value;
      const typed = typedValue(raw, type);
      const err = panel.querySelector('#set-error');
      if (typed.error) { err.textContent = typed.error; err.hidden = false; input.focus(); return; }
      err.hidden = true;
      ask({ action: 'set', value: typed.value }, T.confirmSet(c.columnLabel, valueText(typed.value)));
    });
    return panel;
  }

  /** The value to send for `set`, typed like the column's current value (Protocol/README.md §2). */
  function typedValue(raw, type) {
    if (type === 'integer') {
      const s = raw.trim();
      if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return { error: T.badInteger };
      const b = BigInt(s);
      if (b > 9223372036854775807n || b < -9223372036854775808n) return { error: T.badInteger };
      return { value: { i: s } };
    }
    if (type === 'real') {
      const s = raw.trim();
      const f = Number(s);
      if (s === '' || !Number.isFinite(f)) return { error: T.badReal };
      return { value: { f } };
    }
    if (type === 'blob') return { error: T.noSetBlob };
    return { value: raw };
  }

  function confirmPanel() {
    const p = el('div', { class: 'confirm', id: 'confirm-panel', 'data-testid': 'confirm-panel', role: 'dialog', 'aria-labelledby': 'confirm-title', hidden: true },
      el('h4', { id: 'confirm-title' }, T.confirmTitle),
      el('p', { id: 'confirm-summary', 'data-testid': 'confirm-summary' }),
      el('p', { class: 'hint' }, T.confirmSync),
      el('label', { for: 'note' }, T.note),
      el('textarea', { id: 'note', rows: '2', maxlength: '2000', 'data-testid': 'note' }),
      el('div', { class: 'action-buttons' },
        el('button', { type: 'button', id: 'confirm', class: 'primary', 'data-testid': 'confirm' }, T.confirm),
        el('button', { type: 'button', id: 'cancel', class: 'secondary', 'data-testid': 'cancel' }, T.cancel)));
    p.querySelector('#confirm').addEventListener('click', resolveNow);
    p.querySelector('#cancel').addEventListener('click', () => { pending = null; p.hidden = true; });
    return p;
  }

  function ask(request, summary) {
    pending = request;
    $('confirm-summary').textContent = summary;
    $('confirm-panel').hidden = false;
    $('note').focus();
  }

  async function resolveNow() {
    if (!pending || !current) return;
    const body = Object.assign({}, pending);
    const note = $('note').value.trim();
    if (note) body.note = note;
    const id = current.id;
    $('confirm').disabled = true;
    banner('info', T.resolving);
    try {
      current = await api('POST', '/v1/admin/conflicts/' + encodeURIComponent(id) + '/resolve', body);
      renderDetail();
      const r = current.resolution;
      banner('success', T.resolved(id, current.columnLabel, valueText(r ? r.value : null)));
    } catch (e) {
      if (showError(e)) {
        try { current = await api('GET', '/v1/admin/conflicts/' + encodeURIComponent(id)); renderDetail(); } catch (e2) { showError(e2); }
      } else if ($('confirm')) {
        $('confirm').disabled = false;
      }
    }
  }

  function resolutionPanel(r) {
    const rows = [
      [T.auditAction, T.actions[r.action] || r.action],
      [T.after, valueText(r.value)],
      [T.before, valueText(r.before)],
      [T.by, r.by],
      [T.when, time(r.at)],
    ];
    if (r.note !== null && r.note !== undefined) rows.push([T.noteLabel, r.note]);
    return el('section', { class: 'resolution', 'data-testid': 'resolution' },
      el('h3', {}, T.resolutionTitle),
      el('dl', {}, rows.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])));
  }

  async function loadAudit() {
    show('audit-view');
    $('audit-summary').textContent = T.loading;
    let data;
    try { data = await api('GET', '/v1/admin/audit'); } catch (e) { $('audit-summary').textContent = ''; showError(e); return; }
    const rows = $('audit-rows');
    clear(rows);
    const entries = data.entries || [];
    $('audit-summary').textContent = entries.length ? T.auditCount(entries.length) : T.auditNone;
    for (const a of entries.slice().reverse()) {
      const action = String(a.action || '');
      const sub = action.startsWith('resolve:') ? action.slice(8) : action;
      const field = [a.tableLabel || a.table, a.columnLabel || a.column].filter(Boolean).join(' · ');
      const name = a.rowLabel || (a.conflictId ? '#' + a.conflictId : '');
      const link = el('div', {},
        a.conflictId ? el('a', { href: '#/conflicts/' + encodeURIComponent(a.conflictId), 'data-testid': 'audit-record' }, name)
          : el('span', { 'data-testid': 'audit-record' }, name),
        el('div', { class: 'meta', 'data-testid': 'audit-field' }, field));
      rows.appendChild(el('tr', { 'data-testid': 'audit-row', 'data-conflict-id': a.conflictId || '' },
        el('td', { class: 'when' }, time(a.at)),
        el('td', {}, a.by || ''),
        el('td', {}, T.actions[sub] || action),
        el('td', {}, link),
        el('td', {}, a.before === null || a.before === undefined ? '' : short(valueText(a.before), 120)),
        el('td', {}, a.after === null || a.after === undefined ? '' : short(valueText(a.after), 120)),
        el('td', {}, a.note || '')));
    }
    labelCells(document.querySelector('[data-testid=audit-table]'));
    await loadAccountsAudit();
  }

  // ---- attached files ---------------------------------------------------------------------------------
  function sizeText(n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return Math.round(n / 1024) + ' KB';
    return (n / 1024 / 1024).toFixed(1) + ' MB';
  }

  // A file's bytes, fetched with the admin token in ranges of at most 4 MiB (the server's limit per answer).
  async function fileBlob(f) {
    const parts = [];
    const step = 4 * 1024 * 1024;
    for (let start = 0; start < f.size || (f.size === 0 && parts.length === 0); start += step) {
      const end = Math.min(f.size, start + step) - 1;
      const headers = { Authorization: 'Bearer ' + token() };
      if (f.size > 0) headers.Range = 'bytes=' + start + '-' + end;
      let res;
      try { res = await fetch('/v1/blobs/' + encodeURIComponent(f.sha256), { headers, credentials: 'omit', cache: 'no-store', redirect: 'error' }); }
      catch (e) { throw new ApiError(0, 'network', T.errNetwork); }
      if (!res.ok) throw new ApiError(res.status, '', T.filesMissing);
      parts.push(await res.blob());
      if (f.size === 0) break;
    }
    return new Blob(parts, { type: f.mediaType || 'application/octet-stream' });
  }

  async function loadFiles() {
    show('files-view');
    $('files-summary').textContent = T.loading;
    const q = $('files-q').value.trim();
    let data;
    try { data = await api('GET', '/v1/admin/attachments' + (q ? '?q=' + encodeURIComponent(q) : '')); }
    catch (e) { $('files-summary').textContent = ''; showError(e); return; }
    const rows = $('files-rows');
    clear(rows);
    const files = data.attachments || [];
    $('files-summary').textContent = files.length ? T.filesCount(files.length) : T.filesNone;
    for (const f of files) {
      const download = el('button', { type: 'button', class: 'secondary', 'data-testid': 'file-download' }, T.filesDownload);
      download.disabled = !f.present;
      download.addEventListener('click', async () => {
        banner('info', T.filesFetching);
        try {
          const url = URL.createObjectURL(await fileBlob(f));
          const a = el('a', { href: url, download: f.name });
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 60000);
          hideBanner();
        } catch (e) { showError(e); }
      });
      const preview = el('td', { 'data-testid': 'file-preview' });
      if (!f.present) preview.appendChild(el('span', { class: 'meta' }, T.filesMissing));
      else if (String(f.mediaType).startsWith('image/') && f.size <= 4 * 1024 * 1024) {
        const show = el('button', { type: 'button', class: 'secondary', 'data-testid': 'file-show' }, T.filesShow);
        show.addEventListener('click', async () => {
          try {
            const img = el('img', { class: 'thumb', alt: f.name, 'data-testid': 'file-image' });
            img.src = URL.createObjectURL(await fileBlob(f));
            clear(preview);
            preview.appendChild(img);
          } catch (e) { showError(e); }
        });
        preview.appendChild(show);
      }
      rows.appendChild(el('tr', { 'data-testid': 'file-row', 'data-sha256': f.sha256 },
        el('td', {}, el('div', {}, f.recordLabel || f.record), el('div', { class: 'meta' }, f.tableLabel)),
        el('td', {}, el('div', { 'data-testid': 'file-name' }, f.name), download),
        el('td', { 'data-testid': 'file-size' }, sizeText(f.size)),
        el('td', { class: 'when' }, el('div', {}, f.addedByName || f.addedBy), el('div', { class: 'meta' }, String(f.addedAt).replace('T', ' ').replace('Z', ''))),
        preview));
    }
    labelCells(document.querySelector('[data-testid=files-table]'));
  }

  // Changes to sites, tokens and admins (cpsyncd site …, cpsyncd admin …), newest first.
  async function loadAccountsAudit() {
    $('accounts-summary').textContent = T.loading;
    let data;
    try { data = await api('GET', '/v1/admin/accounts-audit'); } catch (e) { $('accounts-summary').textContent = ''; showError(e); return; }
    const rows = $('accounts-rows');
    clear(rows);
    const entries = data.entries || [];
    $('accounts-summary').textContent = entries.length ? T.accountsCount(entries.length) : T.accountsNone;
    for (const a of entries.slice().reverse()) {
      const action = String(a.action || '');
      const move = action === 'site-move' || action === 'site-kind' ? /^from=(\S*) to=(\S*)$/.exec(a.detail || '') : null;
      rows.appendChild(el('tr', { 'data-testid': 'accounts-row', 'data-action': action },
        el('td', { class: 'when' }, time(a.at)),
        el('td', {}, a.actor || ''),
        el('td', {}, T.accountActions[action] || action),
        el('td', {}, a.subject || ''),
        el('td', {}, !move ? detailText(a.detail) : action === 'site-kind' ? T.kindMoved(kindText(move[1]), kindText(move[2])) : T.moved(move[1], move[2]))));
    }
    labelCells(document.querySelector('[data-testid=accounts-table]'));
  }

  /** `kind=station parent=huashan name=… token=3f2a9c1e` in the reader's words; anything else as it is. */
  function detailText(d) {
    const text = String(d || '');
    if (!text) return '';
    const parts = text.split(/ (?=(?:kind|parent|name|token|from|to)=)/);
    if (!parts.every((p) => /^(kind|parent|name|token|from|to)=/.test(p))) return text;
    return parts.map((p) => {
      const i = p.indexOf('='), k = p.slice(0, i), v = p.slice(i + 1);
      return T.detailKeys[k] + (zh ? '：' : ': ') + (k === 'kind' ? kindText(v) : v === '-' ? T.noneHeld : v);
    }).join(zh ? '；' : '; ');
  }

  // ---- sync dashboard and managing sites -------------------------------------------------------------
  const KINDS = ['county', 'township', 'street', 'station'];
  function kindText(k) { return T.kinds[k] || k; }
  function ago(ms, now) { return T.ago(Math.max(0, Math.round((Number(now) - Number(ms)) / 1000))); }
  function known(v) { return v !== null && v !== undefined; }
  /** Copies each column's header into its cells, for the narrow layout where a row becomes a card. */
  function labelCells(table) {
    if (!table) return;
    const heads = Array.from(table.querySelectorAll('thead th')).map((th) => th.textContent.trim());
    for (const tr of table.tBodies[0].rows) Array.from(tr.cells).forEach((td, i) => { if (heads[i]) td.setAttribute('data-label', heads[i]); });
  }
  /** The same nesting rule as the server's (`ServerStore.mayPlace`): under the county at the top, any kind
   *  (a county-kind site directly under it only: the county committee's own office); under a township or
   *  street, stations; under a station or a county-kind site below the top, nothing. */
  function mayPlace(kind, parentKind, parentIsRoot) {
    if (parentKind === 'county') return parentIsRoot && ['county', 'township', 'street', 'station'].includes(kind);
    if (parentKind === 'township' || parentKind === 'street') return kind === 'station';
    return false;
  }
  function officeCell(s) {
    return el('td', { class: 'office depth-' + Math.min(s.depth || 0, 3) },
      el('div', { class: 'office-name', 'data-testid': 'site-name' }, s.name),
      el('div', { class: 'meta' }, kindText(s.kind) + ' · ', el('span', { class: 'site-id', 'data-testid': 'site-id' }, s.id)));
  }
  function whenCell(ms, now, testid, extra) {
    if (!known(ms)) return el('td', { 'data-testid': testid }, el('span', { class: 'muted' }, T.never), extra || null);
    return el('td', { 'data-testid': testid, title: time(ms) }, el('div', { class: 'ago' }, ago(ms, now)), el('div', { class: 'meta' }, time(ms)), extra || null);
  }
  function tokenBadge(s) {
    return el('span', { class: 'badge token ' + s.token, 'data-testid': 'site-token' }, T.tokenStatus[s.token] || s.token);
  }
  function heldCell(s) {
    const items = [];
    if (s.clockAhead) {
      items.push(el('div', { class: 'warn', 'data-testid': 'held-clock' }, T.clockAhead(Math.max(1, Math.round(Number(s.clockSkewMs || 0) / 60000)))),
        el('div', { class: 'meta' }, time(s.clockRefusedAt)));
    }
    if (known(s.refusedAt)) {
      const why = (T.codes[s.refusedCode] || s.refusedCode || '');
      items.push(el('div', { class: 'warn', 'data-testid': 'held-refused' }, T.refused(Number(s.refusedChanges || 1), why)),
        el('div', { class: 'meta' }, time(s.refusedAt) + ' · ' + T.refusedTimes(Number(s.refusals || 1))));
      if (s.refusedReason) items.push(el('details', { class: 'technical' }, el('summary', {}, T.reason), el('p', { class: 'meta reason' }, s.refusedReason)));
    }
    if (!items.length) items.push(el('span', { class: 'muted' }, T.noneHeld));
    return el('td', { 'data-testid': 'site-held' }, items);
  }
  function needsAttention(s) { return s.clockAhead || known(s.refusedAt) || s.token === 'revoked'; }

  async function loadSites() {
    show('sites-view');
    const rows = $('sites-rows');
    rows.removeAttribute('data-loaded');
    $('sites-summary').textContent = T.loading;
    let data;
    try { data = await api('GET', '/v1/admin/sites'); } catch (e) { $('sites-summary').textContent = ''; showError(e); return; }
    clear(rows);
    const sites = data.sites || [];
    const now = data.serverTime;
    $('sites-summary').textContent = sites.length
      ? T.sitesCount(sites.length, sites.filter(needsAttention).length) + ' · ' + T.serverTime + ' ' + time(now) : T.sitesNone;
    for (const s of sites) {
      const pending = Number(s.pending || 0);
      const pendingCell = el('td', { 'data-testid': 'site-pending', class: pending > 0 ? 'pending some' : 'pending' },
        el('div', {}, pending === 0 && !s.pendingMore ? T.upToDate : T.pendingRecords(pending, s.pendingMore)),
        !known(s.lastPullAt) ? el('div', { class: 'meta' }, T.neverPulled) : null,
        Number(s.reportedUnsent || 0) > 0 ? el('div', { class: 'meta unsent', 'data-testid': 'site-unsent' }, T.unsent(s.reportedUnsent)) : null);
      rows.appendChild(el('tr', { 'data-testid': 'site-row', 'data-site-id': s.id, 'data-token': s.token,
        'data-attention': needsAttention(s) ? 'true' : 'false', class: needsAttention(s) ? 'attention' : null },
        officeCell(s),
        whenCell(s.lastPushAt, now, 'site-push', known(s.lastPushChanges) ? el('div', { class: 'meta' }, T.pushedChanges(s.lastPushChanges)) : null),
        whenCell(s.lastPullAt, now, 'site-pull'),
        pendingCell,
        heldCell(s),
        el('td', {}, tokenBadge(s))));
    }
    labelCells($('sites-table'));
    rows.setAttribute('data-loaded', 'true');
  }

  let manageAction = null;
  function ask2(text, action) {
    manageAction = action;
    $('add-admin-error').hidden = true;
    $('manage-confirm-text').textContent = text;
    $('manage-confirm').hidden = false;
    $('manage-confirm-yes').focus();
  }
  function closeConfirm() { manageAction = null; $('manage-confirm').hidden = true; }
  function showToken(text, token, hint) {
    $('token-copied').hidden = true;
    $('token-box-text').textContent = text;
    $('token-once').textContent = hint || T.tokenOnce;
    $('token-value').textContent = token;
    $('token-box').hidden = false;
    $('token-box').scrollIntoView({ block: 'nearest' });
  }
  function closeTokenBox() { clear($('token-value')); clear($('token-box-text')); $('token-copied').hidden = true; $('token-box').hidden = true; }

  /** Copies the token shown. The Clipboard API exists only on https or localhost; on plain http in an intranet the
   *  token is selected and copied as a selection, and if even that is refused it stays selected for Ctrl+C. */
  async function copyToken() {
    const value = $('token-value');
    let ok = false;
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(value.textContent); ok = true; } catch (e) { ok = false; }
    }
    const selection = window.getSelection();
    if (!ok) {
      const range = document.createRange();
      range.selectNodeContents(value);
      selection.removeAllRanges();
      selection.addRange(range);
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    }
    if (ok) selection.removeAllRanges();
    const note = $('token-copied');
    note.textContent = ok ? T.copied : T.copyFailed;
    note.setAttribute('data-ok', ok ? 'true' : 'false');
    note.hidden = false;
  }

  async function manage(method, path, body, done) {
    hideBanner();
    try { const r = await api(method, path, body); done(r); } catch (e) { showError(e); return; }
    await loadAccounts(true);
  }

  async function loadAccounts(keepBox) {
    show('accounts-view');
    if (keepBox !== true) closeTokenBox();
    const rows = $('manage-rows');
    rows.removeAttribute('data-loaded');
    let data;
    try { data = await api('GET', '/v1/admin/sites'); } catch (e) { showError(e); return; }
    const sites = data.sites || [];
    const byId = new Map(sites.map((s) => [s.id, s]));
    siteKinds = new Map(sites.map((s) => [s.id, s.kind]));
    treeRoot = (sites.find((x) => x.kind === 'county' && !x.parent) || { id: null }).id;
    const below = (id) => { // the site and everything under it
      const out = new Set([id]);
      let grew = true;
      while (grew) { grew = false; for (const s of sites) if (s.parent && out.has(s.parent) && !out.has(s.id)) { out.add(s.id); grew = true; } }
      return out;
    };
    clear(rows);
    for (const s of sites) {
      const inside = below(s.id);
      const select = el('select', { 'data-testid': 'move-parent', 'aria-label': T.colMove + ' · ' + s.name });
      for (const p of sites) {
        if (inside.has(p.id) || !mayPlace(s.kind, p.kind, p.id === treeRoot)) continue;
        select.appendChild(el('option', { value: p.id, selected: p.id === s.parent }, '\u00a0'.repeat(2 * (p.depth || 0)) + p.name));
      }
      const moveButton = el('button', { type: 'button', class: 'secondary', 'data-testid': 'move-site', disabled: !select.options.length || !s.parent }, T.move);
      moveButton.addEventListener('click', () => {
        const target = byId.get(select.value);
        if (!target || target.id === s.parent) return;
        ask2(T.confirmMove(s.name, target.name), () => manage('POST', '/v1/admin/sites/' + encodeURIComponent(s.id) + '/move', { parent: target.id },
          () => banner('success', T.movedTo(s.name, target.name))));
      });
      const tokenButton = el('button', { type: 'button', class: 'secondary', 'data-testid': 'issue-token' }, T.issueToken);
      tokenButton.addEventListener('click', () => ask2(T.confirmToken(s.name), () => manage('POST', '/v1/admin/sites/' + encodeURIComponent(s.id) + '/token', undefined,
        (r) => showToken(T.tokenFor(s.name), r.token))));
      const revokeButton = el('button', { type: 'button', class: 'secondary danger', 'data-testid': 'revoke-token', disabled: s.token === 'revoked' }, T.revokeToken);
      revokeButton.addEventListener('click', () => ask2(T.confirmRevoke(s.name), () => manage('POST', '/v1/admin/sites/' + encodeURIComponent(s.id) + '/revoke', undefined,
        () => banner('success', T.revoked(s.name)))));
      rows.appendChild(el('tr', { 'data-testid': 'manage-row', 'data-site-id': s.id, 'data-token': s.token, 'data-kind': s.kind },
        officeCell(s),
        el('td', {}, kindCell(s, sites, byId)),
        el('td', {}, tokenBadge(s)),
        el('td', {}, s.parent ? el('div', { class: 'inline-form' }, select, moveButton) : el('span', { class: 'muted' }, T.noParent)),
        el('td', {}, el('div', { class: 'action-buttons' }, tokenButton, revokeButton))));
    }
    labelCells($('manage-table'));
    const parent = $('add-parent');
    const chosen = parent.value;
    clear(parent);
    // Only the first site, the county itself, is added without a parent; later ones go under the county by default.
    if (!treeRoot) parent.appendChild(el('option', { value: '' }, T.noParent));
    for (const p of sites) parent.appendChild(el('option', { value: p.id }, '\u00a0'.repeat(2 * (p.depth || 0)) + p.name));
    parent.value = byId.has(chosen) ? chosen : (treeRoot || '');
    await adminRows(data.admins || []);
    rows.setAttribute('data-loaded', 'true');
  }

  /** A site's kind, and where the tree allows another (a township, street or station under its parent, holding
   *  the sites under it), a choice to correct it; a county-kind site keeps its kind (the server refuses it too). */
  function kindCell(s, sites, byId) {
    const parent = s.parent ? byId.get(s.parent) : null;
    const children = sites.filter((x) => x.parent === s.id);
    const allowed = s.kind === 'county' || !parent ? [] : KINDS.filter((k) => k !== 'county' &&
      mayPlace(k, parent.kind, parent.id === treeRoot) && children.every((c) => mayPlace(c.kind, k, false)));
    if (allowed.length < 2 || !allowed.includes(s.kind)) return el('span', { 'data-testid': 'site-kind' }, kindText(s.kind));
    const select = el('select', { 'data-testid': 'kind-select', 'aria-label': T.colKind + ' · ' + s.name },
      allowed.map((k) => el('option', { value: k, selected: k === s.kind }, kindText(k))));
    const button = el('button', { type: 'button', class: 'secondary', 'data-testid': 'change-kind' }, T.changeKind);
    button.addEventListener('click', () => {
      const kind = select.value;
      if (kind === s.kind) return;
      ask2(T.confirmKind(s.name, kindText(kind)), () => manage('POST', '/v1/admin/sites/' + encodeURIComponent(s.id) + '/kind', { kind },
        () => banner('success', T.kindChanged(s.name, kindText(kind)))));
    });
    return el('div', { class: 'inline-form' }, select, button);
  }

  async function addSite(ev) {
    ev.preventDefault();
    const err = $('add-error');
    const id = $('add-id').value.trim(), name = $('add-name').value.trim(), kind = $('add-kind').value, parent = $('add-parent').value;
    const parentKind = parent ? parentSiteKind(parent) : null;
    let problem = null;
    if (!name) problem = T.badSiteName;
    else if (!/^[a-z0-9_-]{1,64}$/.test(id)) problem = T.badSiteId;
    else if (!kind) problem = T.badKindMissing;
    else if (parentKind && !mayPlace(kind, parentKind, parent === treeRoot)) problem = T.badPlacement(kindText(kind), kindText(parentKind));
    if (problem) { err.textContent = problem; err.hidden = false; return; }
    err.hidden = true;
    $('add-submit').disabled = true;
    try {
      await manage('POST', '/v1/admin/sites', { id, name, kind, parent: parent || null }, (r) => {
        showToken(T.added(name), r.token);
        $('add-id').value = '';
        $('add-name').value = '';
        $('add-kind').value = '';
      });
    } finally { $('add-submit').disabled = false; }
  }
  // ---- admin accounts (the same calls as cpsyncd admin add|token|revoke) ----------------------------
  let myName = null;   // the signed-in admin (GET /v1/whoami), to mark their own row
  let knownAdmins = new Set();
  function adminPath(name, verb) { return '/v1/admin/accounts/' + encodeURIComponent(name) + '/' + verb; }

  async function adminRows(list) {
    if (myName === null) { try { myName = (await api('GET', '/v1/whoami')).admin || ''; } catch (e) { myName = ''; } }
    knownAdmins = new Set(list.map((a) => a.name));
    const rows = $('admin-rows');
    clear(rows);
    for (const a of list) {
      const self = a.name === myName;
      const tokenButton = el('button', { type: 'button', class: 'secondary', 'data-testid': 'admin-issue-token' }, T.issueToken);
      tokenButton.addEventListener('click', () => ask2(self ? T.confirmAdminTokenSelf : T.confirmAdminToken(a.name),
        () => manage('POST', adminPath(a.name, 'token'), undefined, (r) => {
          if (self) sessionStorage.setItem(TOKEN_KEY, r.token);  // the old token stops working at once
          showToken(T.adminTokenFor(a.name), r.token, T.adminTokenOnce);
        })));
      const revokeButton = el('button', { type: 'button', class: 'secondary danger', 'data-testid': 'admin-revoke', disabled: a.revoked }, T.revokeToken);
      revokeButton.addEventListener('click', () => {
        // Nobody could sign in any more: say so at once (the server refuses it too).
        if (!list.some((o) => o.name !== a.name && !o.revoked)) { closeConfirm(); banner('error', T.lastAdmin); return; }
        ask2(self ? T.confirmAdminRevokeSelf : T.confirmAdminRevoke(a.name), () => revokeAdmin(a.name, self));
      });
      rows.appendChild(el('tr', { 'data-testid': 'admin-row', 'data-admin': a.name, 'data-revoked': a.revoked ? 'true' : 'false' },
        el('td', { class: 'admin-name' }, el('span', { 'data-testid': 'admin-name' }, a.name), self ? el('span', { class: 'meta you' }, ' ' + T.you) : null),
        el('td', { class: 'when' }, time(a.createdAt)),
        el('td', {}, el('span', { class: 'badge token ' + (a.revoked ? 'revoked' : 'active'), 'data-testid': 'admin-token' },
          a.revoked ? T.tokenStatus.revoked : T.tokenStatus.active)),
        el('td', {}, el('div', { class: 'action-buttons' }, tokenButton, revokeButton))));
    }
    labelCells($('admins-table'));
  }

  async function revokeAdmin(name, self) {
    hideBanner();
    try { await api('POST', adminPath(name, 'revoke')); } catch (e) { showError(e); return; }
    if (self) { signOut(T.selfRevoked); return; }
    banner('success', T.adminRevoked(name));
    await loadAccounts(true);
  }

  async function addAdmin(ev) {
    ev.preventDefault();
    const err = $('add-admin-error');
    const name = $('add-admin-name').value.trim();
    let problem = null;
    if (!name || Array.from(name).length > 64 || /[\u0000-\u001f\u007f-\u009f]/.test(name)) problem = T.badAdminName;
    else if (knownAdmins.has(name)) problem = T.adminExistsHere(name);
    if (problem) { err.textContent = problem; err.hidden = false; return; }
    err.hidden = true;
    $('add-admin-submit').disabled = true;
    try {
      await manage('POST', '/v1/admin/accounts', { name }, (r) => {
        showToken(T.adminAdded(name), r.token, T.adminTokenOnce);
        $('add-admin-name').value = '';
      });
    } finally { $('add-admin-submit').disabled = false; }
  }

  let siteKinds = new Map();
  let treeRoot = null;
  function parentSiteKind(id) { return siteKinds.get(id) || null; }

  function route() {
    if (!token()) { show('signin-view'); return; }
    const h = location.hash.replace(/^#/, '');
    const m = /^\/conflicts\/([^/]+)$/.exec(h);
    if (m) { loadDetail(decodeURIComponent(m[1])); return; }
    if (h === '/audit') { loadAudit(); return; }
    if (h === '/attachments') { loadFiles(); return; }
    if (h === '/conflicts') { loadList(); return; }
    if (h === '/accounts') { loadAccounts(); return; }
    loadSites();
  }

  function translate() {
    document.documentElement.lang = zh ? 'zh-CN' : 'en';
    document.title = T.title;
    for (const e of document.querySelectorAll('[data-i18n]')) {
      const v = T[e.getAttribute('data-i18n')];
      if (typeof v === 'string') e.textContent = v;
    }
    const sel = $('filter-table');
    for (const [name, labels] of Object.entries(TABLES)) sel.appendChild(el('option', { value: name }, zh ? labels[0] : labels[1]));
    $('add-kind').appendChild(el('option', { value: '' }, T.chooseKind));
    for (const k of KINDS) $('add-kind').appendChild(el('option', { value: k }, T.kinds[k]));
    $('add-kind').value = '';
  }

  function start() {
    translate();
    $('signin-form').addEventListener('submit', signIn);
    $('signout').addEventListener('click', () => { signOut(null); banner('info', T.signedOut); });
    $('filters').addEventListener('submit', (ev) => { ev.preventDefault(); hideBanner(); if (location.hash.startsWith('#/conflicts/')) location.hash = '#/conflicts'; else loadList(); });
    $('filter-reset').addEventListener('click', () => {
      $('filter-status').value = 'open';
      for (const id of ['filter-table', 'filter-site', 'filter-from', 'filter-to']) $(id).value = '';
      loadList();
    });
    window.addEventListener('hashchange', () => { hideBanner(); route(); });
    $('sites-refresh').addEventListener('click', () => { hideBanner(); loadSites(); });
    $('add-site').addEventListener('submit', addSite);
    $('files-filter').addEventListener('submit', (ev) => { ev.preventDefault(); hideBanner(); loadFiles(); });
    $('add-admin').addEventListener('submit', addAdmin);
    $('token-box-close').addEventListener('click', closeTokenBox);
    $('token-copy').addEventListener('click', copyToken);
    $('manage-confirm-yes').addEventListener('click', () => { const f = manageAction; closeConfirm(); if (f) f(); });
    $('manage-confirm-no').addEventListener('click', closeConfirm);
    route();
    document.body.setAttribute('data-ready', 'true');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
