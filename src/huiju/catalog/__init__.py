"""Government information-resource catalog (政务信息资源目录): datasets, versions, lineage; entries come next."""
