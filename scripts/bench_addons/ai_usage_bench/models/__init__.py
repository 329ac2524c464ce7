from . import bench_record
