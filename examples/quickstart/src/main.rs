streamalert::main!();
