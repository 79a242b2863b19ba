//! The reference of `bench/compare.sh`: the smallest program that reads a register with
//! calamine, as a user would write it. Opens the workbook, reads the first sheet into a
//! `Range` with `worksheet_range`, touches every cell and prints the number of rows.
//!
//!     cargo run --release --example calamine_read -- register.xlsx
//!
//! It does not use the spotcheck library, so it runs on the system allocator (spotcheck
//! uses mimalloc) and with calamine's defaults.

use std::process::ExitCode;

use calamine::{Data, Reader, open_workbook_auto};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: calamine_read FILE");
        return ExitCode::from(2);
    };
    let mut workbook = match open_workbook_auto(&path) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("cannot open {}: {e}", path.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    let Some(first) = workbook.sheet_names().first().cloned() else {
        eprintln!("no sheets");
        return ExitCode::FAILURE;
    };
    let range = match workbook.worksheet_range(&first) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot read sheet «{first}»: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Touch every cell (kind and length), so that nothing is optimised away.
    let (mut non_empty, mut text_bytes) = (0u64, 0u64);
    for row in range.rows() {
        for cell in row {
            match cell {
                Data::Empty => {}
                Data::String(s) => {
                    non_empty += 1;
                    text_bytes += s.len() as u64;
                }
                _ => non_empty += 1,
            }
        }
    }
    std::hint::black_box((non_empty, text_bytes));
    println!("{} rows (header included)", range.height());
    ExitCode::SUCCESS
}
