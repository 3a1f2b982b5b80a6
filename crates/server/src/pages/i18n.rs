//! The console's labels: Chinese as the seed documents name things, English beside them.
//! One table; a missing key shows the key itself (a test would see it). Owns wording only.

/// The page language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    /// 中文 (the default).
    Zh,
    /// English.
    En,
}

/// (key, 中文, English).
const STRINGS: &[(&str, &str, &str)] = &[
    ("console", "实人认证控制台", "Real-person verification console"),
    ("sign_in", "登录", "Sign in"),
    ("sign_out", "退出", "Sign out"),
    ("login_name", "登录名称", "Login name"),
    (
        "login_name_hint",
        "RAM用户：用户名@别名.onaliyun.com、用户名@别名 或 用户名@域名别名；主账号：账号ID",
        "RAM user: user@alias.onaliyun.com, user@alias or user@domain-alias; main account: its account ID",
    ),
    ("password", "密码", "Password"),
    ("sign_in_refused", "登录名称或密码错误", "The login name or the password is wrong"),
    (
        "sign_in_limited",
        "登录尝试过于频繁，请15分钟后再试",
        "Too many sign-in attempts; try again in 15 minutes",
    ),
    ("no_permission", "无权限", "No permission"),
    (
        "no_permission_detail",
        "当前账号没有访问此页面或执行此操作的权限。请联系主账号授予 AliyunYundunCloudAuthReadOnlyAccess（只读）或 AliyunYundunCloudAuthFullAccess（管理）权限。",
        "Your account may not open this page or do this. Ask the main account to grant AliyunYundunCloudAuthReadOnlyAccess (read) or AliyunYundunCloudAuthFullAccess (manage).",
    ),
    ("csrf_refused", "请求已拒绝", "Request refused"),
    (
        "csrf_refused_detail",
        "表单令牌缺失或无效，请刷新页面后重试。",
        "The form token is missing or wrong; reload the page and try again.",
    ),
    ("unavailable", "服务暂不可用", "Service unavailable"),
    ("scenes", "接入设置", "Access settings"),
    ("new_scene", "新增场景", "New scene"),
    ("scene_name", "场景名称", "Scene name"),
    ("scene_id", "场景ID", "Scene ID"),
    ("created_at", "创建时间", "Created"),
    ("solution", "接入方案", "Solution"),
    ("product_code", "产品方案", "Product code"),
    ("rename", "修改名称", "Rename"),
    ("delete", "删除", "Delete"),
    ("create", "确定", "Create"),
    ("empty_name", "场景名称不能为空", "The scene name must not be empty"),
    ("no_scenes", "暂无场景", "No scenes yet"),
    ("authorization", "授权", "Authorization"),
    ("authorized", "已授权", "Authorized"),
    (
        "not_authorized",
        "未授权：场景已创建，但授权前不能用于认证",
        "Not authorized: scenes exist but cannot verify until authorized",
    ),
    ("authorize_storage", "授权OSS存储照片", "Authorize photo storage (OSS)"),
    ("bucket", "存储空间（Bucket）", "Bucket"),
    ("statistics", "数据统计", "Data statistics"),
    ("scene", "认证场景", "Scene"),
    ("range", "时间范围", "Time range"),
    ("last_7", "近7天", "Last 7 days"),
    ("last_30", "近30天", "Last 30 days"),
    ("custom", "自定义", "Custom"),
    ("query", "查询", "Search"),
    ("range_too_long", "自定义时间范围最长180天", "A custom range may cover at most 180 days"),
    ("passed", "认证通过", "Passed"),
    ("failed", "认证不通过", "Failed"),
    ("submissions", "提交认证", "Submitted"),
    ("pass_rate", "认证通过率", "Pass rate"),
    ("compare_count", "比对次数", "Comparisons"),
    ("day", "日期", "Day"),
    ("records", "认证记录查询", "Record query"),
    ("all", "全部", "All"),
    ("status", "状态", "Status"),
    ("sub_code", "状态码", "Sub code"),
    ("from", "开始时间", "From"),
    ("to", "结束时间", "To"),
    ("identifier", "标识", "Identifier"),
    ("outer_order_no", "唯一请求标识", "Outer order no"),
    ("certify_id", "认证ID", "Certify ID"),
    ("id_number", "证件号", "ID number"),
    ("details", "详情", "Details"),
    ("name", "姓名", "Name"),
    ("result", "认证结果", "Result"),
    ("score_id_photo", "人脸与证件照比对分", "Face vs ID photo score"),
    ("score_authority", "人脸与权威比对分", "Face vs authority score"),
    ("quality", "人脸质量分", "Face quality score"),
    ("attack", "攻击检测", "Attack detected"),
    ("occlusion", "遮挡检测", "Occlusion detected"),
    ("photos", "人脸照片", "Face photos"),
    ("no_records", "没有符合条件的记录", "No matching records"),
    ("next_page", "下一页", "Next page"),
    ("packs", "流量包", "Traffic packs"),
    ("pack_name", "流量包名称", "Pack"),
    ("pack_id", "流量包ID", "Pack ID"),
    ("total", "总量", "Total"),
    ("remaining", "剩余量", "Remaining"),
    ("effective", "生效时间", "Effective"),
    ("expiry", "失效时间", "Expires"),
    ("alert", "剩余量提醒", "Remaining-quota alert"),
    ("alert_threshold", "剩余比例低于（%）时提醒", "Alert when the share left falls to (%)"),
    ("save", "保存", "Save"),
    ("cancel", "取消", "Cancel"),
    ("valid", "有效", "Valid"),
    ("used_up", "已用完", "Used up"),
    ("expired", "已失效", "Expired"),
    ("bills", "费用账单", "Bills"),
    ("daily_bills", "日账单", "Daily bills"),
    ("no_bills", "该时间段内没有账单", "No bills in this range"),
    ("amount", "应付金额（元）", "Amount (CNY)"),
    ("issued_at", "出账时间", "Issued"),
    ("balance", "账户余额（元）", "Balance (CNY)"),
    ("standing", "账户状态", "Account standing"),
    ("statement", "月账单", "Monthly statement"),
    (
        "statement_rule",
        "月账单不含当月最后一天：最后一天计入下月账单",
        "A month's statement excludes its last day, which is counted in the next month",
    ),
    ("covers", "覆盖日期", "Covers"),
    ("counted", "计量", "Counted"),
    ("covered", "流量包抵扣", "Covered by packs"),
    ("chargeable", "按量计费", "Pay-as-you-go"),
    ("month", "月份", "Month"),
    ("adjustment", "调整", "Adjustment for"),
];

impl Lang {
    /// `?lang=` first, then the cookie, then Chinese.
    pub(crate) fn pick(query: Option<&str>, cookie: Option<&str>) -> Lang {
        query.and_then(Lang::parse).or_else(|| cookie.and_then(Lang::parse)).unwrap_or(Lang::Zh)
    }

    /// `zh` or `en`.
    pub(crate) fn parse(text: &str) -> Option<Lang> {
        match text {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The `lang` attribute.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The label of `key`.
    pub(crate) fn s(self, key: &'static str) -> &'static str {
        match STRINGS.iter().find(|(k, _, _)| *k == key) {
            Some((_, zh, en)) => match self {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_are_filled() {
        for (i, (key, zh, en)) in STRINGS.iter().enumerate() {
            assert!(!zh.is_empty() && !en.is_empty(), "{key}");
            assert!(STRINGS.iter().skip(i + 1).all(|(k, _, _)| k != key), "{key} twice");
        }
        assert_eq!(Lang::Zh.s("empty_name"), "场景名称不能为空");
        assert_eq!(Lang::pick(Some("en"), Some("zh")), Lang::En);
        assert_eq!(Lang::pick(None, Some("en")), Lang::En);
        assert_eq!(Lang::pick(Some("xx"), None), Lang::Zh);
    }
}
