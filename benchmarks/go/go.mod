module weft.example/benchmarks/go

go 1.19
