//! The relay error bodies kept as fixtures beside the wire types decode through [`ApiError`], the
//! one decoder of error bodies.

use quickrouter_transport::{ApiError, ApiErrorKind};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../quickrouter-types/tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn relay_error_fixtures_decode() {
    let new_api = ApiError::from_body(Some(403), &fixture("error_new_api.json"));
    assert_eq!(new_api.error_type.as_deref(), Some("new_api_error"));
    assert_eq!(new_api.code.as_deref(), Some("insufficient_user_quota"));
    assert_eq!(new_api.kind(), ApiErrorKind::Quota);
    let body = new_api.body.unwrap();
    assert_eq!(body["error"]["message_zh"], "该令牌额度已用尽");

    let openrouter = ApiError::from_body(Some(429), &fixture("error_openrouter.json"));
    assert_eq!(openrouter.code.as_deref(), Some("429"));
    assert_eq!(openrouter.kind(), ApiErrorKind::RateLimit);
    assert_eq!(
        openrouter.body.unwrap()["error"]["metadata"]["provider_name"],
        "OpenAI"
    );

    let object = ApiError::from_body(Some(404), &fixture("error_object.json"));
    assert_eq!(object.code.as_deref(), Some("404"));
    assert_eq!(object.kind(), ApiErrorKind::NotFound);
}
