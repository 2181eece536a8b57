//! `dc-fixtures DIR`: rewrites `DIR/rows/*.csv` with the default org's
//! generated seed rows (deterministic: same output on every run and machine).
//!
//! `cargo run -p dc-emulator --bin dc-fixtures -- fixtures/default`

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: dc-fixtures <fixture-dir>   (rewrites <fixture-dir>/rows/*.csv)");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    match dc_emulator::org::generate::write(&dir) {
        Ok(written) => {
            for (name, rows) in written {
                println!("{}: {rows} rows", dir.join("rows").join(name).display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "dc-fixtures: cannot write {}: {e}",
                dir.join("rows").display()
            );
            ExitCode::FAILURE
        }
    }
}
