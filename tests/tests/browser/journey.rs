//! The steps of the journey, in order. Each person uses a browser of their own; each step
//! ends with a checkpoint (screenshots and accessibility checks).

use anyhow::{bail, Context, Result};

use crate::run::Run;

/// The unit that registers in the journey.
const UNIT_LOGIN: &str = "tj_binhai_lab";
const UNIT_NAME: &str = "天津滨海新材料科技有限公司";
const UNIT_PASSWORD: &str = "Unit#Binhai2026";
const UNIT_AGENT_MOBILE: &str = "13600007777";

/// The person who registers in the journey.
const PERSON_LOGIN: &str = "li_xiaoming";
const PERSON_NAME: &str = "李小明";
const PERSON_PASSWORD: &str = "Person#Li2026";
const PERSON_MOBILE: &str = "13500005555";

/// The person who registers quickly, by mobile only (seed 003), and later recovers the password.
const QUICK_MOBILE: &str = "13700008888";
const QUICK_PASSWORD: &str = "Quick#Reg2026";
const QUICK_NEW_PASSWORD: &str = "Found#Again2027";

pub async fn walk(r: &mut Run) -> Result<()> {
    the_checks_find_problems(r).await?;
    let quick_code = person_registers_quickly(r).await?;
    let quick_registered = std::time::Instant::now();
    unit_registers(r).await?;
    unit_logs_in_at_the_portal(r).await?;
    unit_completes_and_submits(r).await?;
    department_reviewer_approves(r).await?;
    person_registers_and_is_verified(r).await?;
    person_completes_the_profile_and_picks_the_unit(r).await?;
    unit_admin_authorizes_incubator_only(r).await?;
    person_enters_through_the_launcher(r).await?;
    let declaration = person_declares_in_the_incubator(r).await?;
    bureau_returns_then_approves(r, &declaration).await?;
    person_is_refused_by_the_makerspace_and_logs_out(r).await?;
    // One SMS a minute to a mobile, whatever it is for: the journey is usually longer.
    let interval = std::time::Duration::from_secs(61);
    if let Some(rest) = interval.checked_sub(quick_registered.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    quick_person_recovers_by_the_mobile(r, &quick_code).await?;
    Ok(())
}

/// Seed 003's 快速注册: mobile, code and password; the login name is generated and the page
/// says to log in with the mobile. Returns the registration's SMS code.
async fn person_registers_quickly(r: &mut Run) -> Result<String> {
    r.step("0. a person registers quickly, by mobile only");
    r.new_browser().await?;
    let idp = r.platform.idp.clone();
    r.open(&format!("{idp}/register/quick")).await?;
    r.fill("#mobile", QUICK_MOBILE).await?;
    r.answer_captcha().await?;
    r.press("button[name=action][value=send_code]").await?;
    r.wait_text("验证码已发送至").await?;
    let code = r.sms_code(QUICK_MOBILE, None).await?;
    r.fill("#sms_code", &code).await?;
    r.fill("#password", QUICK_PASSWORD).await?;
    r.fill("#password_confirm", QUICK_PASSWORD).await?;
    r.answer_captcha().await?;
    r.tick("#agree").await?;
    r.press("button[name=action][value=register]").await?;
    r.wait_text("注册成功").await?;
    r.expect_texts(&["手机号"]).await?;
    r.checkpoint("quick-registered").await?;
    Ok(code)
}

/// 找回密码 for the quickly registered person, who knows only the mobile (issue 15 item 1):
/// the mobile as the identifier, the code to it, a new password, then a login with it.
async fn quick_person_recovers_by_the_mobile(r: &mut Run, registration_code: &str) -> Result<()> {
    r.step("10. the quickly registered person recovers the password by the mobile");
    r.new_browser().await?;
    let idp = r.platform.idp.clone();
    r.open(&format!("{idp}/login")).await?;
    r.press("a[href^='/recover']").await?;
    r.wait_url(&format!("{idp}/recover")).await?;
    r.fill("#login_name", QUICK_MOBILE).await?;
    r.fill("#mobile", QUICK_MOBILE).await?;
    r.answer_captcha().await?;
    r.press("button[name=action][value=send_code]").await?;
    r.find("#recover-notice").await?;
    let code = r.sms_code(QUICK_MOBILE, Some(registration_code)).await?;
    r.fill("#code", &code).await?;
    r.fill("#new_password", QUICK_NEW_PASSWORD).await?;
    r.fill("#confirm_password", QUICK_NEW_PASSWORD).await?;
    r.fill("#reason", "忘记了密码").await?;
    r.checkpoint("recover-filled").await?;
    r.press("button[name=action][value=reset]").await?;
    r.wait_text("密码已重置").await?;
    r.checkpoint("recovered").await?;

    r.open(&format!("{idp}/login?next=/account")).await?;
    log_in(r, false, QUICK_MOBILE, QUICK_NEW_PASSWORD).await?;
    r.wait_url(&format!("{idp}/account")).await?;
    r.expect_texts(&["账户中心"]).await?;
    r.checkpoint("recovered-login").await
}

/// The demo platform admin, department reviewer of `dept-tj-kjj-gxc` (config/demo.toml).
const DEMO_ADMIN: (&str, &str) = ("demo_admin", "Demo@Admin2026");
const DEPARTMENT: &str = "dept-tj-kjj-gxc";

/// Small files of the kinds the attachment slots take (the IdP checks the content).
fn attachment_files(r: &Run) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    let dir = r.artifacts.join("fixtures");
    std::fs::create_dir_all(&dir)?;
    let pdf = dir.join("营业执照.pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    )?;
    let png = dir.join("开户许可证.png");
    std::fs::write(
        &png,
        [
            0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R',
            0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xDE,
        ],
    )?;
    Ok((pdf, png))
}

async fn unit_completes_and_submits(r: &mut Run) -> Result<()> {
    r.step("1. the unit completes its information with attachments and submits");
    let portal = r.platform.portal.clone();
    r.press("#go-unit").await?;
    r.wait_url(&format!("{portal}/complete/unit")).await?;
    r.pick_label("#legal_person_nature", "民营企业").await?;
    r.pick_label("#entity_type", "企业").await?;
    r.pick("#department_id", DEPARTMENT).await?;
    r.fill("#contact_name", "陈晓").await?;
    r.fill("#contact_mobile", UNIT_AGENT_MOBILE).await?;
    r.fill("#contact_email", "chenxiao@binhai-lab.cn").await?;
    for prefix in ["registered", "located"] {
        r.pick(&format!("#{prefix}_address_city"), "天津市").await?;
        r.pick(&format!("#{prefix}_address_district"), "南开区")
            .await?;
        r.fill(&format!("#{prefix}_address_detail"), "卫津路 92 号")
            .await?;
    }
    r.fill("#bank_account_name", UNIT_NAME).await?;
    r.fill("#bank_name", "中国银行天津分行").await?;
    r.fill("#bank_account_number", "6222021234567890").await?;
    r.press("#save").await?;
    r.find("#done").await?;

    let (pdf, png) = attachment_files(r)?;
    for (slot, file) in [
        ("business_licence", &pdf),
        ("risk_commitment", &pdf),
        ("bank_permit", &png),
    ] {
        r.attach(&format!("#file-{slot}"), file).await?;
        r.press(&format!("#upload-{slot}")).await?;
        r.find(&format!("#slot-{slot} ul.files a")).await?;
    }
    r.checkpoint("unit-completion").await?;
    r.press("#submit").await?;
    r.wait_text("待审核").await?;
    r.checkpoint("unit-submitted").await
}

async fn department_reviewer_approves(r: &mut Run) -> Result<()> {
    r.step("2. a department reviewer approves the unit");
    r.new_browser().await?;
    let portal = r.platform.portal.clone();
    r.open(&format!("{portal}/auth/login")).await?;
    log_in(r, false, DEMO_ADMIN.0, DEMO_ADMIN.1).await?;
    r.wait_url(&format!("{portal}/")).await?;
    r.open(&format!("{portal}/reviews")).await?;
    r.wait_text(UNIT_NAME).await?;
    r.checkpoint("reviews").await?;
    r.press("#units a[id^=open-]").await?;
    r.wait_text(&format!("单位审核：{UNIT_NAME}")).await?;
    r.find("#attachments a").await?;
    r.checkpoint("review-detail").await?;
    r.press("#approve").await?;
    r.find("#done").await?;
    r.expect_texts(&["已通过"]).await?;
    r.checkpoint("unit-approved").await
}

async fn person_completes_the_profile_and_picks_the_unit(r: &mut Run) -> Result<()> {
    r.step("3. the person completes the profile and picks the unit");
    let portal = r.platform.portal.clone();
    // Signed in at the IdP already: the portal's login goes through without the form.
    r.open(&format!("{portal}/auth/login")).await?;
    r.wait_url(&format!("{portal}/")).await?;
    r.wait_text(&format!("您好，{PERSON_NAME}")).await?;
    r.press("#go-person").await?;
    r.wait_url(&format!("{portal}/complete/person")).await?;
    r.tick("#gender-m").await?;
    r.fill("#phone", "022-23456789").await?;
    r.fill("#position", "项目主管").await?;
    r.fill("#title", "工程师").await?;
    r.press("#save-profile").await?;
    r.find("#done").await?;
    r.fill("#unit-name", UNIT_NAME).await?;
    r.press("#search-unit").await?;
    r.find("#unit-hits").await?;
    r.checkpoint("person-unit-search").await?;
    r.press("#unit-hits button[id^=pick-]").await?;
    r.wait_text(&format!("当前单位：{UNIT_NAME}")).await?;
    r.checkpoint("person-unit-picked").await
}

async fn unit_admin_authorizes_incubator_only(r: &mut Run) -> Result<()> {
    r.step("4. the unit admin authorizes the person for the incubator only");
    r.new_browser().await?;
    let portal = r.platform.portal.clone();
    r.open(&format!("{portal}/auth/login")).await?;
    log_in(r, true, UNIT_LOGIN, UNIT_PASSWORD).await?;
    r.wait_url(&format!("{portal}/")).await?;
    r.press("#go-members").await?;
    r.wait_url(&format!("{portal}/members")).await?;
    r.find(&format!("#member-{PERSON_LOGIN}")).await?;
    r.checkpoint("members-pending").await?;
    r.press(&format!("#approve-{PERSON_LOGIN}")).await?;
    r.tick(&format!("#grant-{PERSON_LOGIN}-incubator")).await?;
    r.untick(&format!("#grant-{PERSON_LOGIN}-makerspace"))
        .await?;
    r.press(&format!("#save-grants-{PERSON_LOGIN}")).await?;
    r.find("#done").await?;
    r.find(&format!("#grant-{PERSON_LOGIN}-incubator:checked"))
        .await?;
    if r.exists(&format!("#grant-{PERSON_LOGIN}-makerspace:checked"))
        .await?
    {
        bail!("the makerspace is granted too");
    }
    r.checkpoint("members-granted").await
}

async fn person_enters_through_the_launcher(r: &mut Run) -> Result<()> {
    r.step("4. the person opens the launcher and enters the incubator without logging in again");
    r.new_browser().await?;
    let portal = r.platform.portal.clone();
    let incubator = r.platform.incubator.clone();
    r.open(&format!("{portal}/auth/login")).await?;
    log_in(r, false, PERSON_LOGIN, PERSON_PASSWORD).await?;
    r.wait_url(&format!("{portal}/")).await?;
    r.press("#go-launcher").await?;
    r.wait_url(&format!("{portal}/launcher")).await?;
    r.find("#enter-incubator").await?;
    if r.exists("#enter-makerspace").await? {
        bail!("the launcher offers the makerspace without its grant");
    }
    r.checkpoint("launcher").await?;
    r.press("#enter-incubator").await?;
    r.wait_url(&format!("{incubator}/")).await?;
    r.wait_text(&format!("欢迎，{PERSON_NAME}")).await?;
    r.checkpoint("incubator-entered").await
}

/// What the bureau's reviewer (demo_admin, incubator:reviewer in config/demo.toml) writes
/// when returning the declaration.
const RETURN_REASON: &str = "孵化场地总面积与证明材料不一致，请核实后重新提交。";

/// 800 Chinese characters exactly: the limit of an annual summary item.
fn summary_of_800() -> String {
    let sentence = "本年度孵化器围绕新材料产业完善专业服务体系，";
    let text: String = sentence.chars().cycle().take(799).collect();
    format!("{text}。")
}

/// Step 5: the person declares in the incubator; returns the declaration's id.
async fn person_declares_in_the_incubator(r: &mut Run) -> Result<String> {
    r.step("5. the person saves a partial declaration as a draft");
    let incubator = r.platform.incubator.clone();
    r.press("#add-declaration").await?;
    r.wait_url(&format!("{incubator}/declarations/new")).await?;
    r.fill("#carrier_name", "滨海新材料科技企业孵化器").await?;
    r.pick("#incubator_type", "专业").await?;
    r.press("#save").await?;
    let url = r.url().await?;
    let id = url
        .strip_prefix(&format!("{incubator}/declarations/"))
        .and_then(|rest| rest.split('/').next())
        .filter(|id| *id != "new" && !id.is_empty())
        .with_context(|| format!("no declaration id in {url}"))?
        .to_owned();
    r.find("#notice").await?;
    r.wait_text("申报已创建并暂存").await?;
    let kept = r
        .wd()?
        .execute(
            "return [document.getElementById('carrier_name').value, document.getElementById('incubator_type').value]",
            vec![],
        )
        .await?;
    if kept != serde_json::json!(["滨海新材料科技企业孵化器", "专业"]) {
        bail!("the draft kept {kept}");
    }
    r.checkpoint("declaration-draft").await?;

    r.step("5. submitting the partial draft shows the conditional rule at its fields");
    r.press("#submit").await?;
    r.find("#error-summary").await?;
    r.find("#same_industry_firms[aria-invalid=true]").await?;
    r.find("#same_industry_firms-error").await?;
    r.find("#tech_field-error").await?;

    r.step("5. the person fills the rest of the declaration and saves it");
    r.fill("#operator_name", "天津滨海新材料孵化器管理有限公司")
        .await?;
    r.fill("#operator_uscc", &uscc("91120116MA05KFH2X")).await?;
    r.pick("#district", "南开区").await?;
    r.fill("#address", "天津市南开区卫津路 92 号").await?;
    r.fill("#established_date", "2015-06-01").await?;
    r.fill("#contact_name", PERSON_NAME).await?;
    r.fill("#same_industry_firms", "25").await?;
    r.fill("#tech_field", "新材料").await?;
    r.tick("#national_level-1").await?;
    for (key, value) in [
        ("total_area", "12000"),
        ("incubation_area", "8000"),
        ("public_area", "1500"),
        ("incubated_firms", "60"),
        ("new_incubated_firms", "12"),
        ("graduated_firms", "5"),
        ("high_tech_firms", "18"),
        ("ip_applications", "40"),
        ("firm_employees", "900"),
        ("incubation_fund", "2000"),
        ("financed_firms", "8"),
        ("financing_total", "5600"),
        ("total_income", "1200"),
        ("staff_total", "15"),
        ("staff_degree", "12"),
        ("mentors", "20"),
    ] {
        r.fill(&format!("#{key}"), value).await?;
    }
    r.tick("#services-1").await?;
    r.tick("#services-4").await?;
    let overview = summary_of_800();
    r.fill("#summary_overview", &overview).await?;
    r.fill(
        "#summary_services",
        "提供创业辅导、投融资对接和新材料检测公共服务。",
    )
    .await?;
    r.fill("#summary_results", "当年新增在孵企业12家，毕业企业5家。")
        .await?;
    r.fill("#summary_plans", "下一年度扩建中试平台，引进专业服务机构。")
        .await?;
    r.press("#save").await?;
    r.wait_text("已暂存。").await?;
    let kept = r
        .wd()?
        .execute(
            "return document.getElementById('summary_overview').value",
            vec![],
        )
        .await?;
    if kept.as_str() != Some(overview.as_str()) {
        bail!("the 800-character summary was not kept as typed");
    }
    r.checkpoint("declaration-saved").await?;

    r.step("5. the person exports the Word file");
    r.click("#export-docx").await?;
    let docx = r.wait_download(".docx").await?;
    if !docx.starts_with(b"PK") {
        bail!("the export is no Word (zip) file");
    }

    r.step("5. the person uploads the signed PDF and submits");
    let (pdf, _) = attachment_files(r)?;
    let signed = pdf.with_file_name("签章页.pdf");
    std::fs::copy(&pdf, &signed)?;
    r.attach("#file-signature", &signed).await?;
    r.press("#upload-signature").await?;
    r.find("#slot-signature ul.files a").await?;
    r.wait_text("附件上传成功").await?;
    r.expect_texts(&["签章页.pdf"]).await?;
    r.checkpoint("declaration-signed").await?;
    r.press("#declaration-form #submit").await?;
    r.wait_url(&format!("{incubator}/declarations/{id}"))
        .await?;
    r.wait_text("已提交至科技局审批").await?;
    r.expect_texts(&["已提交，待审批"]).await?;
    if r.exists("#edit").await? {
        bail!("the submitted declaration can still be edited");
    }
    r.checkpoint("declaration-submitted").await?;
    Ok(id)
}

/// Logs in at the incubator (signing in at the IdP) in the current browser.
async fn log_in_at_the_incubator(r: &Run, login: &str, password: &str) -> Result<()> {
    let incubator = r.platform.incubator.clone();
    r.open(&format!("{incubator}/auth/login")).await?;
    log_in(r, false, login, password).await?;
    r.wait_url(&format!("{incubator}/")).await?;
    r.find("#add-declaration").await?;
    Ok(())
}

/// Step 6: the bureau returns the declaration with a reason; the person corrects and
/// resubmits it; the bureau approves. The person's browser is kept aside meanwhile.
async fn bureau_returns_then_approves(r: &mut Run, id: &str) -> Result<()> {
    r.step("6. the bureau's reviewer returns the declaration with a reason");
    let incubator = r.platform.incubator.clone();
    let mut other = None;
    r.swap_browser(&mut other);
    r.new_browser().await?;
    log_in_at_the_incubator(r, DEMO_ADMIN.0, DEMO_ADMIN.1).await?;
    r.press("#review-link").await?;
    r.wait_url(&format!("{incubator}/review")).await?;
    r.find(&format!("#row-{id}")).await?;
    r.checkpoint("incubator-review-list").await?;
    r.press(&format!("#row-{id} a")).await?;
    r.wait_url(&format!("{incubator}/declarations/{id}"))
        .await?;
    r.find("#decision").await?;
    r.fill("#reason", RETURN_REASON).await?;
    r.checkpoint("incubator-review-detail").await?;
    r.press("#return").await?;
    r.wait_text("已退回，申报人可修改后重新提交").await?;
    r.checkpoint("incubator-returned").await?;

    r.step("6. the person reads the reason, corrects and resubmits");
    r.swap_browser(&mut other);
    r.open(&format!("{incubator}/declarations/{id}")).await?;
    r.find("#return-reason").await?;
    r.expect_texts(&[RETURN_REASON, "已退回"]).await?;
    r.checkpoint("declaration-returned").await?;
    r.press("#edit").await?;
    r.wait_url(&format!("{incubator}/declarations/{id}/edit"))
        .await?;
    r.find("#return-reason").await?;
    r.fill("#total_area", "11800").await?;
    r.press("#save").await?;
    r.wait_text("已暂存。").await?;
    r.press("#declaration-form #submit").await?;
    r.wait_url(&format!("{incubator}/declarations/{id}"))
        .await?;
    r.wait_text("已提交至科技局审批").await?;
    r.expect_texts(&["已提交，待审批", "11800"]).await?;
    r.checkpoint("declaration-resubmitted").await?;

    r.step("6. the bureau's reviewer approves; the person sees it approved");
    r.swap_browser(&mut other);
    r.open(&format!("{incubator}/declarations/{id}")).await?;
    r.find("#approve").await?;
    r.press("#approve").await?;
    r.wait_text("已审批通过。").await?;
    r.checkpoint("incubator-approved").await?;
    r.swap_browser(&mut other);
    if let Some(reviewer) = other.take() {
        let _ = reviewer.quit().await;
    }
    r.open(&format!("{incubator}/")).await?;
    r.find(&format!("#row-{id}")).await?;
    r.open(&format!("{incubator}/declarations/{id}")).await?;
    r.find("#state").await?;
    r.expect_texts(&["审批通过"]).await?;
    if r.exists("#edit").await? {
        bail!("the approved declaration can still be edited");
    }
    r.checkpoint("declaration-approved").await
}

async fn person_is_refused_by_the_makerspace_and_logs_out(r: &mut Run) -> Result<()> {
    let portal = r.platform.portal.clone();
    let incubator = r.platform.incubator.clone();
    let makerspace = r.platform.makerspace.clone();
    r.step("7. the makerspace refuses the person");
    r.open(&format!("{makerspace}/auth/login")).await?;
    r.wait_url(&makerspace).await?;
    r.wait_text("未获授权").await?;
    r.expect_texts(&[PERSON_NAME, "单位管理员", "众创空间绩效评估系统"])
        .await?;
    r.checkpoint("makerspace-refused").await?;

    r.step("8. logging out at the portal ends the incubator session too");
    r.open(&format!("{portal}/")).await?;
    r.press("form[action='/auth/logout'] button[type=submit]")
        .await?;
    r.wait_url(&format!("{portal}/")).await?;
    r.wait_text("您已安全退出登录").await?;
    r.checkpoint("portal-logged-out").await?;
    r.open(&format!("{incubator}/")).await?;
    r.find("a[href='/auth/login']").await?;
    if r.text().await?.contains(&format!("欢迎，{PERSON_NAME}")) {
        bail!("the incubator still shows the session after the portal's logout");
    }
    r.checkpoint("incubator-logged-out").await
}

/// The accessibility checks themselves, on a page built to fail each of them: a check that
/// cannot fail would let every page pass.
async fn the_checks_find_problems(r: &mut Run) -> Result<()> {
    r.step("0. the accessibility checks find what they look for");
    r.new_browser().await?;
    let page = concat!(
        "<!doctype html><html><head><title>t</title></head><body>",
        "<form><input id='a' name='a'>",
        "<label for='b'>B</label><input id='b' aria-invalid='true'>",
        "<label for='c'>C</label><input id='c' aria-describedby='gone'>",
        "<p class='error' id='d-error'>lost</p></form>",
        "<p id='x'></p><p id='x'></p><button></button>",
        "<div style='width:2000px'>wide</div></body></html>",
    );
    r.open(&format!("data:text/html;charset=utf-8,{page}"))
        .await?;
    let found = r.page_problems().await?.join("\n");
    for expected in [
        "no label: #a",
        "#b: aria-invalid without aria-describedby",
        "#c: aria-describedby names a missing #gone",
        "error not tied to a field: d-error",
        "duplicate id: x",
        "no accessible name: <button>",
        "no lang on <html>",
        "horizontal overflow at 1280 px",
    ] {
        if !found.contains(expected) {
            bail!("the checks missed “{expected}”; they found:\n{found}");
        }
    }
    Ok(())
}

/// A resident ID number with a correct GB 11643 check character.
fn resident_id(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

/// A unified social credit code with a correct GB 32100 check character.
fn uscc(first17: &str) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: usize = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| CHARS.iter().position(|c| *c == b).unwrap_or(0) * w)
        .sum();
    format!("{first17}{}", CHARS[(31 - sum % 31) % 31] as char)
}

/// Fills the registration form's captcha, presses 获取验证码 and types the code that arrives.
/// Passwords are typed again afterwards: the form never sends them back.
async fn get_sms_code(r: &Run, mobile: &str) -> Result<()> {
    r.answer_captcha().await?;
    r.press("button[name=action][value=send_code]").await?;
    r.wait_text("验证码已发送至").await?;
    let code = r.sms_code(mobile, None).await?;
    r.fill("#sms_code", &code).await
}

async fn unit_registers(r: &mut Run) -> Result<()> {
    r.step("1. a unit registers at the IdP");
    r.new_browser().await?;
    let idp = r.platform.idp.clone();
    r.open(&format!("{idp}/register")).await?;
    r.checkpoint("register-choice").await?;
    r.press("a[href='/register/legal-entity']").await?;
    r.wait_url(&format!("{idp}/register/legal-entity")).await?;

    r.fill("#login_name", UNIT_LOGIN).await?;
    r.press("button[name=action][value=check_login_name]")
        .await?;
    r.wait_text("可以使用").await?;
    r.pick("#entity_type", "enterprise").await?;
    r.pick("#registration_region", "domestic").await?;
    r.fill("#unit_name", UNIT_NAME).await?;
    r.fill("#uscc", &uscc("91120116MA07BHXC1")).await?;
    r.fill("#rep_name", "王建国").await?;
    r.pick("#rep_id_type", "resident_id_card").await?;
    r.fill("#rep_id_number", &resident_id("12010219700303123"))
        .await?;
    r.fill("#rep_valid_from", "2016-03-03").await?;
    r.pick("#rep_term", "long_term").await?;
    r.fill("#rep_mobile", "13800006666").await?;
    r.fill("#agent_name", "陈晓").await?;
    r.fill("#agent_mobile", UNIT_AGENT_MOBILE).await?;
    r.pick("#agent_id_type", "resident_id_card").await?;
    r.fill("#agent_id_number", &resident_id("12010419900909123"))
        .await?;
    r.fill("#agent_valid_from", "2021-09-09").await?;
    r.pick("#agent_term", "20").await?;
    r.fill("#password", UNIT_PASSWORD).await?;
    r.fill("#password_confirm", UNIT_PASSWORD).await?;

    // Submitted before the SMS code and the agreement: the errors stand at their fields.
    r.press("button[name=action][value=register]").await?;
    r.find("#form-alert").await?;
    r.find("#agree[aria-invalid=true]").await?;
    r.find("#agree-error").await?;
    r.checkpoint("unit-form-errors").await?;

    get_sms_code(r, UNIT_AGENT_MOBILE).await?;
    r.fill("#password", UNIT_PASSWORD).await?;
    r.fill("#password_confirm", UNIT_PASSWORD).await?;
    r.answer_captcha().await?;
    r.tick("#agree").await?;
    r.checkpoint("unit-form-filled").await?;
    r.press("button[name=action][value=register]").await?;
    r.wait_text("注册成功").await?;
    r.expect_texts(&[UNIT_LOGIN]).await?;
    r.checkpoint("unit-registered").await
}

/// Logs in at the IdP's form the portal (or a subsystem) sent the browser to.
async fn log_in(r: &Run, legal_entity: bool, login: &str, password: &str) -> Result<()> {
    r.wait_url(&format!("{}/login", r.platform.idp)).await?;
    if legal_entity {
        r.press("nav[aria-label='用户类型'] a[href*='type=legal_entity']")
            .await?;
        r.find("nav[aria-label='用户类型'] a[aria-current=page][href*='type=legal_entity']")
            .await?;
    }
    r.fill("#login_name", login).await?;
    r.fill("#password", password).await?;
    r.press("form[action='/login'] button[type=submit]").await
}

async fn unit_logs_in_at_the_portal(r: &mut Run) -> Result<()> {
    r.step("1. the unit logs in and reaches the portal");
    let portal = r.platform.portal.clone();
    r.open(&format!("{portal}/")).await?;
    r.checkpoint("portal-visitor").await?;
    r.press("a[href='/auth/login']").await?;
    r.wait_url(&format!("{}/login", r.platform.idp)).await?;
    r.checkpoint("idp-login").await?;
    // A mistyped password first: the error stands at the form, tied to both fields.
    log_in(r, true, UNIT_LOGIN, "Wrong#Pass2026").await?;
    r.find("#login-error").await?;
    r.find("#password[aria-describedby~=login-error]").await?;
    r.checkpoint("idp-login-error").await?;
    log_in(r, true, UNIT_LOGIN, UNIT_PASSWORD).await?;
    r.wait_url(&format!("{portal}/")).await?;
    r.wait_text(&format!("您好，{UNIT_NAME}")).await?;
    r.expect_texts(&[UNIT_LOGIN, "法人", "单位管理员"]).await?;
    r.checkpoint("unit-portal-home").await
}

async fn person_registers_and_is_verified(r: &mut Run) -> Result<()> {
    r.step("3. a person registers and verifies the real name");
    r.new_browser().await?;
    let idp = r.platform.idp.clone();
    r.open(&format!("{idp}/register/person")).await?;
    r.fill("#login_name", PERSON_LOGIN).await?;
    r.fill("#real_name", PERSON_NAME).await?;
    r.pick("#identity_region", "mainland").await?;
    r.pick("#id_type", "resident_id_card").await?;
    r.fill("#id_number", &resident_id("12010519950505123"))
        .await?;
    r.fill("#id_valid_from", "2020-05-05").await?;
    r.pick("#id_term", "10").await?;
    r.fill("#mobile", PERSON_MOBILE).await?;
    get_sms_code(r, PERSON_MOBILE).await?;
    r.fill("#password", PERSON_PASSWORD).await?;
    r.fill("#password_confirm", PERSON_PASSWORD).await?;
    r.answer_captcha().await?;
    r.tick("#agree").await?;
    r.checkpoint("person-form-filled").await?;
    r.press("button[name=action][value=register]").await?;
    r.wait_text("注册成功").await?;
    // Inside the service hours the registration verifies the name at once.
    r.expect_texts(&[PERSON_LOGIN, "已认证"]).await?;
    r.checkpoint("person-registered").await?;

    r.press("a[href='/login']").await?;
    log_in(r, false, PERSON_LOGIN, PERSON_PASSWORD).await?;
    r.open(&format!("{idp}/account/realname")).await?;
    r.find("#realname-status[data-status=verified]").await?;
    r.expect_texts(&["已认证"]).await?;
    r.checkpoint("person-realname").await
}
