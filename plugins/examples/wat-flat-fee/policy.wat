;; "Flat fee": a claim_fees policy written by hand in WebAssembly text, from
;; plugins/contract/oms_policy_v1.h alone (no SDK), to show what any language has to do.
;;
;; It decides:
;;   fault          by reason, like the default: DEFECTIVE, WRONG_ITEM_DELIVERED,
;;                  DELIVERY_DELAYED, OUT_OF_STOCK (codes 4..7) are the SELLER's (2),
;;                  every other reason the CUSTOMER's (1);
;;   return_fee     a flat 3000 won when the customer is at fault, 0 when the seller is
;;                  (whatever return fee the seller configured);
;;   exchange_fee   6000 won for a customer-fault EXCHANGE (claim type 3), else 0;
;;   flags          INITIAL_SHIPPING | COUPON_CLAWBACK (3) for customer fault, 0 for seller
;;                  fault;
;;   message        "flat fee policy".
;; and logs one line through oms.log.
;;
;; Build: wat2wasm policy.wat -o flat_fee.wasm   (or: wasm-tools parse policy.wat -o flat_fee.wasm)
(module
  ;; The one import the contract allows: append UTF-8 text to the evaluation's log.
  (import "oms" "log" (func $log (param $ptr i32) (param $len i32)))

  ;; One 64 KiB page to start (static data and small inputs); oms_alloc grows it for larger
  ;; inputs. 256 pages = 16 MiB, the host's cap, declared so the module says so itself.
  (memory (export "memory") 1 256)

  ;; Static strings, below the heap. Addresses and lengths are repeated in the code below.
  (data (i32.const 16) "flat fee policy")               ;; message: 15 bytes at 16
  (data (i32.const 32) "flat fee: customer at fault")   ;; log line: 27 bytes at 32
  (data (i32.const 64) "flat fee: seller at fault")     ;; log line: 25 bytes at 64

  ;; Bump allocator: the next free byte. Every evaluation runs in a fresh instance, so
  ;; nothing is ever freed and this starts at 1024 each time.
  (global $heap (mut i32) (i32.const 1024))

  ;; oms_contract_version() -> i32: the contract this module was written for.
  (func (export "oms_contract_version") (result i32)
    (i32.const 1))

  ;; oms_alloc(len) -> ptr: len bytes, 8-aligned so the documents' int64 fields are aligned.
  ;; Returns 0 (failure) for a negative len or when memory cannot grow that far.
  (func $alloc (export "oms_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local $end i32)
    (local $have i32)
    (if (i32.lt_s (local.get $len) (i32.const 0))
      (then (return (i32.const 0))))
    ;; ptr = (heap + 7) & ~7; end = ptr + len
    (local.set $ptr
      (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    ;; Grow memory by the missing pages, if any (memory.grow returns -1 when refused).
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u
                  (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535))
                  (i32.const 16)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  ;; claim_fees(ptr, len) -> (out_ptr << 32) | out_len
  ;;
  ;; Input: oms_claim_fees_input at ptr; this policy reads claim_type (offset 0) and
  ;; reason (offset 4) only.
  ;; Output: oms_fee_decision, a 32-byte head followed by the message's 15 bytes:
  ;;    0 fault u32 | 4 flags u32 | 8 return_fee i64 | 16 exchange_fee i64 |
  ;;   24 message.offset u32 (= 32, from the output's first byte) | 28 message.len u32 (= 15) |
  ;;   32 "flat fee policy"
  (func (export "claim_fees") (param $ptr i32) (param $len i32) (result i64)
    (local $seller i32)
    (local $out i32)
    (local $i i32)
    ;; A document shorter than its 88-byte head cannot be read: fail (result 0).
    (if (i32.lt_u (local.get $len) (i32.const 88))
      (then (return (i64.const 0))))
    ;; Seller at fault when 4 <= reason <= 7, i.e. (reason - 4) < 4 unsigned.
    (local.set $seller
      (i32.lt_u
        (i32.sub (i32.load offset=4 (local.get $ptr)) (i32.const 4))
        (i32.const 4)))
    (local.set $out (call $alloc (i32.const 47)))
    (if (i32.eqz (local.get $out))
      (then (return (i64.const 0))))
    ;; fault: SELLER = 2, CUSTOMER = 1
    (i32.store offset=0 (local.get $out)
      (select (i32.const 2) (i32.const 1) (local.get $seller)))
    ;; flags: none for the seller's fault; INITIAL_SHIPPING (1) | COUPON_CLAWBACK (2) else
    (i32.store offset=4 (local.get $out)
      (select (i32.const 0) (i32.const 3) (local.get $seller)))
    ;; return_fee: 0 or a flat 3000 won
    (i64.store offset=8 (local.get $out)
      (select (i64.const 0) (i64.const 3000) (local.get $seller)))
    ;; exchange_fee: 6000 won for a customer-fault EXCHANGE (claim_type 3), else 0
    (i64.store offset=16 (local.get $out)
      (select
        (i64.const 6000)
        (i64.const 0)
        (i32.and
          (i32.eqz (local.get $seller))
          (i32.eq (i32.load offset=0 (local.get $ptr)) (i32.const 3)))))
    ;; message: offset 32 from the output's start, 15 bytes; then copy the bytes there.
    (i32.store offset=24 (local.get $out) (i32.const 32))
    (i32.store offset=28 (local.get $out) (i32.const 15))
    (local.set $i (i32.const 0))
    (block $copied
      (loop $copy
        (br_if $copied (i32.ge_u (local.get $i) (i32.const 15)))
        (i32.store8 offset=32
          (i32.add (local.get $out) (local.get $i))
          (i32.load8_u offset=16 (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    ;; One log line, for dryRunPlugin.
    (if (local.get $seller)
      (then (call $log (i32.const 64) (i32.const 25)))
      (else (call $log (i32.const 32) (i32.const 27))))
    ;; (out << 32) | 47
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
      (i64.const 47)))
)
