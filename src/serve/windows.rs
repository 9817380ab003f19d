//! `mailmfa serve` under the Windows service manager: the service `mailmfa` that the MSI installs
//! runs `mailmfa.exe serve --windows-service`. The dispatcher calls [`service_main`]; Stop (or a
//! system shutdown) ends the service gracefully — in-flight requests finish — and the service sets
//! its own restart-on-failure actions (wixl cannot write them into the MSI).

use std::ffi::OsString;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept, ServiceExitCode,
    ServiceFailureActions, ServiceFailureResetPeriod, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

use super::log::LogFormat;
use super::{ServeError, ServeOptions};
use crate::service::{KeyFolder, StoreLocation};

/// The service's name, as the MSI installs it.
pub const SERVICE_NAME: &str = "mailmfa";

/// What `serve` was started with, for the dispatcher's thread.
static STARTED: OnceLock<(StoreLocation, KeyFolder, ServeOptions)> = OnceLock::new();
/// Why the service stopped, for the process to report.
static OUTCOME: Mutex<Option<ServeError>> = Mutex::new(None);

define_windows_service!(ffi_service_main, service_main);

/// Hands the process to the service manager; returns when the service has stopped. The log goes
/// to daily files in `ProgramData\mailmfa\logs` and, its warnings, errors, start and stop, to the
/// Event Log.
pub fn run(
    location: StoreLocation,
    keys: KeyFolder,
    options: ServeOptions,
    format: LogFormat,
) -> Result<(), ServeError> {
    let _log = crate::service::folders::machine_folder()
        .and_then(|machine| super::log::for_windows_service(format, &machine.join("logs")));
    drop(STARTED.set((location, keys, options)));
    service_dispatcher::start(SERVICE_NAME, ffi_service_main)
        .map_err(|e| ServeError::Start(std::io::Error::other(format!("the service manager: {e}"))))?;
    match OUTCOME.lock().map(|mut o| o.take()) {
        Ok(Some(e)) => Err(e),
        _ => Ok(()),
    }
}

fn service_main(_arguments: Vec<OsString>) {
    let Some((location, keys, options)) = STARTED.get() else { return };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stop = Mutex::new(Some(stop));
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            if let Some(stop) = stop.lock().ok().and_then(|mut s| s.take()) {
                // The service may be stopping already; then there is no one left to tell.
                stop.send(()).ok();
            }
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let Ok(status) = service_control_handler::register(SERVICE_NAME, handler) else { return };
    let report = |state: ServiceState, exit_code: ServiceExitCode| {
        let accepted = if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        };
        drop(status.set_service_status(ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: accepted,
            exit_code,
            checkpoint: 0,
            wait_hint: Duration::from_secs(30),
            process_id: None,
        }));
    };
    report(ServiceState::Running, ServiceExitCode::NO_ERROR);
    // Without the restart actions the service still runs; the MSI's service stays as installed.
    drop(set_restart_on_failure());
    let shutdown = async move {
        drop(stopped.await);
    };
    let result = super::run(location, keys, options, shutdown, |_, _| {});
    let exit_code = if result.is_ok() { ServiceExitCode::NO_ERROR } else { ServiceExitCode::ServiceSpecific(1) };
    if let (Err(e), Ok(mut outcome)) = (result, OUTCOME.lock()) {
        *outcome = Some(e);
    }
    report(ServiceState::Stopped, exit_code);
}

/// Restart after 5 s, then 30 s, then a minute; the count starts again after a day.
fn set_restart_on_failure() -> windows_service::Result<()> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)?;
    let service = manager.open_service(SERVICE_NAME, ServiceAccess::CHANGE_CONFIG | ServiceAccess::START)?;
    let restart =
        |seconds| ServiceAction { action_type: ServiceActionType::Restart, delay: Duration::from_secs(seconds) };
    service.update_failure_actions(ServiceFailureActions {
        reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(24 * 3600)),
        reboot_msg: None,
        command: None,
        actions: Some(vec![restart(5), restart(30), restart(60)]),
    })?;
    service.set_failure_actions_on_non_crash_failures(true)
}
