# ctest "hepnn-scan-merge: ...": the installed command on a scan directory of four trials (two
# finished, one failed, one never run), then on bad input. Run as
#   cmake -DTOOL=<hepnn-scan-merge> -DWORK_DIR=<dir> -P scan_merge.cmake
# The trial files are written here in the format of scan::run (detail::to_json); tests/io/test_scan.cpp
# checks the same merge on files that scan::run itself writes.
file(REMOVE_RECURSE ${WORK_DIR})
set(scan ${WORK_DIR}/scan)
file(MAKE_DIRECTORY ${scan})
file(WRITE ${scan}/scan.json [=[{"name": "tool", "metric": "val_loss", "mode": "min",
 "parameters": {"width": {"values": [16, 32]}, "optimizer": {"values": ["adam", "sgd"]}}}]=])
file(WRITE ${scan}/trial-00000.json [=[{"trial": 0, "status": "ok", "params": {"optimizer": "adam", "width": 16},
 "seed": 11, "epochs": 5, "seconds": 1.5, "worker": 0, "best": 0.25, "best_epoch": 4}]=])
file(WRITE ${scan}/trial-00001.json [=[{"trial": 1, "status": "ok", "params": {"optimizer": "sgd", "width": 16},
 "seed": 12, "epochs": 5, "seconds": 2.5, "worker": 1, "best": 0.125, "best_epoch": 5}]=])
file(WRITE ${scan}/trial-00002.json [=[{"trial": 2, "status": "failed", "params": {"optimizer": "adam", "width": 32},
 "seed": 13, "epochs": 0, "seconds": 0.5, "worker": 0, "error": "loss is NaN at epoch 1, batch 7 (\"adam\", lr 10)"}]=])

function(expect what rc_expected)  # runs ${ARGN}; the exit status must be rc_expected
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL rc_expected)
    message(FATAL_ERROR "${what}: exit status ${rc}, expected ${rc_expected}\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()
function(contains what text pattern)
  string(FIND "${text}" "${pattern}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${what}: expected to find\n  ${pattern}\nin\n${text}")
  endif()
endfunction()

# The grid's trials (scan::Scan::trial: parameters in name order, the first fastest): 0 adam/16,
# 1 sgd/16, 2 adam/32, 3 sgd/32.
# 1. the merge: trial 1 ranks first (min val_loss), the failure and the missing trial are listed
expect("merge" 0 ${TOOL} ${scan})
contains("table" "${out}" "| 1 | 1 | 0.12500 | 5 of 5 | \"sgd\" | 16 | 2.5 |")
contains("table" "${out}" "| 2 | 0 | 0.25000 | 4 of 5 | \"adam\" | 16 | 1.5 |")
contains("table" "${out}" "failed: trial 2")
contains("table" "${out}" "not run yet: 1 trial(s): 3")
contains("summary" "${out}" "scan 'tool': 2 of 4 trials finished, 1 failed, 0 crashed or still running, 1 not run yet; best val_loss = 0.125 (trial 1)")
foreach(f ranked.md ranked.csv scan.svg scan.png)
  if(NOT EXISTS ${scan}/${f})
    message(FATAL_ERROR "merge: ${scan}/${f} was not written")
  endif()
endforeach()
file(READ ${scan}/ranked.md md)
contains("ranked.md" "${md}" "| rank | trial | val_loss | epoch | optimizer | width | seconds |")
file(STRINGS ${scan}/ranked.csv csv)
list(LENGTH csv rows)
if(NOT rows EQUAL 5)
  message(FATAL_ERROR "ranked.csv: ${rows} lines, expected a header and 4 trials:\n${csv}")
endif()
list(GET csv 0 header)
list(GET csv 1 first)
list(GET csv 3 failed)
list(GET csv 4 missing)
contains("csv header" "${header}" "rank,trial,status,val_loss,best_epoch,epochs,optimizer,width,seconds,seed,worker,error")
contains("csv row 1" "${first}" "1,1,ok,0.125,5,5,sgd,16,2.5,12,1,")
# the failed trial's error has a comma and quotes: one quoted cell, inner quotes doubled
contains("csv failed row" "${failed}" ",2,failed,,,0,adam,32,0.5,13,0,\"loss is NaN at epoch 1, batch 7 (\"\"adam\"\", lr 10)\"")
# the missing trial gets the parameters the grid gives it (parameters in name order, the first
# fastest: trial 3 is optimizer "sgd", width 32)
contains("csv missing row" "${missing}" ",3,missing,,,0,sgd,32,0,")
file(READ ${scan}/scan.png png LIMIT 8 HEX)
if(NOT png STREQUAL "89504e470d0a1a0a")
  message(FATAL_ERROR "scan.png does not start with the PNG signature: ${png}")
endif()

# 2. --out writes elsewhere and --quiet prints only the summary
expect("--out" 0 ${TOOL} --quiet --out ${WORK_DIR}/report ${scan})
if(NOT EXISTS ${WORK_DIR}/report/ranked.csv OR out MATCHES "\\| rank \\|")
  message(FATAL_ERROR "--out --quiet: no ${WORK_DIR}/report/ranked.csv, or the table was printed:\n${out}")
endif()

# 3. bad input: a clear message and exit status 1 or 2, never a crash
expect("not a scan directory" 1 ${TOOL} ${WORK_DIR})
contains("not a scan directory" "${err}" "has no scan.json (not a scan directory)")
file(WRITE ${scan}/trial-00003.json "{\"trial\": 3, \"status\": ")
expect("truncated trial file" 1 ${TOOL} ${scan})
contains("truncated trial file" "${err}" "trial-00003.json' is not valid JSON")
file(WRITE ${WORK_DIR}/bad/scan.json "{\"metric\": \"val_auc\"}")
expect("description without parameters" 1 ${TOOL} ${WORK_DIR}/bad)
contains("description without parameters" "${err}" "'parameters' must be an object")
expect("no argument" 2 ${TOOL})
contains("no argument" "${err}" "usage: hepnn-scan-merge")
expect("unknown option" 2 ${TOOL} --top 3 ${scan})
contains("unknown option" "${err}" "unknown option '--top'")
message(STATUS "hepnn-scan-merge: ranking, report files, CSV quoting, --out, --quiet and bad input all as expected")
