//! Which graphics backend the console draws with, and what it says when none will.
//!
//! The console tries one backend at a time — Direct3D 12 (Metal on a Mac), then Vulkan, then OpenGL,
//! each that this build has — and opens its window with the first that starts; only when all have
//! failed does it give up, naming each backend and what it said. A `WGPU_BACKEND` set by the user
//! is the one attempt.
//!
//! Why a whole `run_native` per backend rather than choosing beforehand: a backend can offer an
//! adapter and still fail when the window's surface and device are made (Direct3D 12 through
//! vkd3d under Wine lists an adapter, then says "Parent device is lost"), so probing adapters or a
//! `native_adapter_selector` would pick a backend that then fails. eframe makes the adapter, the
//! device and the surface before it creates the app, and returns their failure as
//! [`eframe::Error::Wgpu`], so a failed attempt has opened no store. A second `run_native` in the
//! same process is allowed: winit refuses a second event loop (on Windows as elsewhere), but eframe
//! keeps its one event loop in a thread-local while `NativeOptions::run_and_return` is on (the
//! default) and runs each window on it. Starting the program again as a child for the next backend
//! would work too, but costs a process and a way to tell a failed start from a closed window.

use eframe::egui_wgpu::{WgpuConfiguration, WgpuError, WgpuSetupCreateNew};
use eframe::wgpu::{Backends, Instance};

/// The backends in the order the console tries them: Windows' own first (with the WARP software
/// adapter, it draws on a server without a graphics card), then the portable ones.
const ORDER: [Backends; 4] = [Backends::DX12, Backends::METAL, Backends::VULKAN, Backends::GL];

/// What the console tries, one entry an attempt: the backends `WGPU_BACKEND` names (`from_env`),
/// as a single attempt among which wgpu picks; else each backend of [`ORDER`] that this build has
/// (`built`).
pub fn attempts(from_env: Option<Backends>, built: Backends) -> Vec<Backends> {
    match from_env {
        Some(named) => vec![named],
        None => ORDER.into_iter().filter(|backend| built.contains(*backend)).collect(),
    }
}

/// The attempts for this process: `WGPU_BACKEND` if set, else the backends this build has.
pub fn attempts_here() -> Vec<Backends> {
    attempts(Backends::from_env(), Instance::enabled_backend_features())
}

/// The wgpu options of one attempt: the defaults, limited to `backends`.
pub fn wgpu_options(backends: Backends) -> WgpuConfiguration {
    let mut setup = WgpuSetupCreateNew::without_display_handle();
    setup.instance_descriptor.backends = backends;
    WgpuConfiguration { wgpu_setup: setup.into(), ..WgpuConfiguration::default() }
}

/// A backend's name as the administrator reads it (several joined with `+`).
pub fn name(backends: Backends) -> String {
    let names: Vec<&str> = backends
        .iter()
        .map(|backend| match backend {
            Backends::DX12 => "DX12",
            Backends::METAL => "Metal",
            Backends::VULKAN => "Vulkan",
            Backends::GL => "OpenGL",
            Backends::BROWSER_WEBGPU => "WebGPU",
            _ => "another backend",
        })
        .collect();
    if names.is_empty() { "no backend".to_owned() } else { names.join("+") }
}

/// One backend that would not start, and what it said.
#[derive(Debug)]
pub struct Failure {
    pub backends: Backends,
    pub error: WgpuError,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", name(self.backends), self.error)
    }
}

/// Why the console could not open its window.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Every backend tried failed (in the order tried).
    #[error("no graphics backend would draw it (tried {})", list(.0))]
    Graphics(Vec<Failure>),
    /// The window or the app failed for a reason no other backend changes.
    #[error(transparent)]
    Window(eframe::Error),
}

fn list(failures: &[Failure]) -> String {
    if failures.is_empty() {
        return "none: this build has no graphics backend".to_owned();
    }
    failures.iter().map(Failure::to_string).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_wgpu_backend_each_built_backend_is_tried_in_order() {
        assert_eq!(
            attempts(None, Backends::DX12 | Backends::VULKAN | Backends::GL),
            [Backends::DX12, Backends::VULKAN, Backends::GL]
        );
        assert_eq!(attempts(None, Backends::VULKAN | Backends::GL), [Backends::VULKAN, Backends::GL]);
        assert_eq!(attempts(None, Backends::METAL), [Backends::METAL]);
    }

    #[test]
    fn wgpu_backend_is_the_one_attempt() {
        let built = Backends::DX12 | Backends::VULKAN | Backends::GL;
        assert_eq!(attempts(Some(Backends::VULKAN), built), [Backends::VULKAN]);
        assert_eq!(attempts(Some(Backends::GL | Backends::DX12), built), [Backends::GL | Backends::DX12]);
    }

    #[test]
    fn the_options_limit_wgpu_to_the_attempt() {
        let options = wgpu_options(Backends::VULKAN);
        let eframe::egui_wgpu::WgpuSetup::CreateNew(setup) = options.wgpu_setup else {
            panic!("the console asks for a new wgpu instance");
        };
        assert_eq!(setup.instance_descriptor.backends, Backends::VULKAN);
    }

    #[test]
    fn the_message_names_each_backend_tried_and_what_it_said() {
        let failures = vec![
            Failure { backends: Backends::DX12, error: WgpuError::NoSurfaceFormatsAvailable },
            Failure {
                backends: Backends::VULKAN | Backends::GL,
                error: WgpuError::CustomNativeAdapterSelectionError("none fits".to_owned()),
            },
        ];
        assert_eq!(
            ConsoleError::Graphics(failures).to_string(),
            "no graphics backend would draw it (tried DX12: There was no valid format for the surface at all.; \
             Vulkan+OpenGL: Adapter selection failed: none fits)"
        );
    }
}
