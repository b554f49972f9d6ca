namespace weft::detail { void runtime_placeholder() {} }
