// On Windows, a release build is a GUI program without a console window; the
// other platforms have no such distinction.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    zks_desktop::run();
}
