import CPSyncText

/// The protocol's error codes in the reader's language: the one wording of each code (Protocol/README.md §10), used
/// where a body is shown — by the tools for a server's refusal, by the server for the `message` of a body it renders
/// for a request in another language than the one its detail was written in.
public enum ServerErrorText {
    /// Chinese for every error code of protocol v1 (and of the HTTP layer), with what to do; nil for a code this build
    /// does not know (then the HTTP status decides, as §10 says).
    public static func chinese(code: String) -> String? {
        switch code {
        case "bad_request": "服务器无法识别该请求（格式或参数有误），请把此信息报告给县政协管理员"
        case "unknown_table": "服务器不认识其中的数据表；cpsync 与服务器的版本可能不一致，请报告县政协管理员"
        case "unknown_column": "服务器不认识其中的字段；cpsync 与服务器的版本可能不一致，请报告县政协管理员"
        case "wrong_type": "某个值的类型与字段不符，请报告县政协管理员"
        case "malformed_key": "某条记录的编号无效（为空、过长或含控制字符），请报告县政协管理员"
        case "value_too_large": "某个内容超出了字段允许的长度，请缩短后重试"
        case "unauthorized": "服务器拒绝了令牌（缺少令牌、令牌无效或已被吊销）；请向县政协索取新令牌"
        case "forbidden": "无权进行此操作（令牌类型不对，或记录不属于本站点）"
        case "not_found": "服务器上找不到所请求的内容"
        case "method_not_allowed": "服务器不接受这种请求方式，请报告县政协管理员"
        case "conflict_resolved": "该冲突已经处理过了"
        case "clock_skew": "本机时钟比服务器快太多，请校准电脑时间；数据没有丢失，仍在本机排队"
        case "upgrade_required": "请升级 cpsync（服务器的数据结构更新）；数据仍在本机排队"
        case "schema_version": "本机的数据结构比服务器新，请县政协升级 cpsyncd；数据仍在本机排队"
        case "cursor_ahead": "本机的拉取位置超出了服务器的记录（服务器可能已从备份恢复）；请运行 `cpsync pull --reset`"
        case "payload_too_large": "一次发送的数据过大，请分批发送"
        case "protocol_version": "服务器不支持本版本 cpsync 的协议，请升级；数据仍在本机排队"
        case "constraint_violated": "某个值不符合数据规则，请在本办公室更正该记录后重新同步"
        case "batch_id_reused": "同一批次编号已用于不同的内容，未应用任何修改；请报告县政协管理员"
        case "site_id_taken": "本县的站点标识已被上级的另一个县（或上级自身）使用，未应用任何修改；请改用带行政区划代码的站点标识"
        case "server_error": "服务器内部出错，未应用任何修改；请稍后重试"
        case "unavailable": "服务器暂时不可用（正在启动、停止或繁忙）；请稍后重试"
        case "storage_failed": "服务器的数据库暂时无法写入；数据仍在本机排队，请稍后重试"
        case "storage_full": "服务器磁盘已满；数据仍在本机排队，请通知县政协管理员"
        case "headers_too_large": "请求头过大"
        case "request_timeout": "请求超时，请重试"
        case "transfer_encoding_not_supported": "服务器不支持这种传输编码"
        case "http_version_not_supported": "服务器不支持此 HTTP 版本"
        case "expectation_failed": "服务器不接受该请求"
        case "file_too_large": "附件超过县政协允许的大小；附件记录已保存，文件本身未上传，请压缩或拆分后重新添加"
        case "quota_exceeded": "本站点的附件存储已达县政协设定的限额；文件未上传，请联系县政协提高限额；其他数据不受影响"
        case "hash_mismatch": "附件在传输中损坏（校验值不符），已丢弃这部分；请重新同步，文件会重新发送"
        case "offset_mismatch": "附件续传位置与服务器不一致；请重新同步，会从服务器已有的位置继续"
        default: nil
        }
    }

    /// What the client prints for a server error: in Chinese the code's text with the HTTP status, the code and the
    /// server's own detail; in English the detail as the server wrote it.
    public static func describe(code: String, status: Int, message: String, in language: Language) -> String {
        guard language == .chinese else { return "the server refused the request (HTTP \(status), \(code)): \(message)" }
        let text = chinese(code: code) ?? "服务器拒绝了请求"
        return "\(text)（HTTP \(status)，\(code)；服务器说明：\(message)）"
    }
}
