//! Cross-app tests: the IdP, the portal and both subsystems started in this process on random
//! ports, driven over real HTTP by a cookie-keeping client that plays the browser.

mod flows;
mod harness;
mod idp_forms;

mod declarations;
mod journey;
mod pg;
mod portal_chain;
mod portal_paging;
mod portal_scale_out;
mod rp_client_addr;
mod rp_refresh;
mod security_headers;
mod subsystem_outage;
