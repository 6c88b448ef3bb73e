"""一数一源 and base libraries: the authoritative department of each data element (数据元), the comparison
of other departments' values against it with correction tasks (纠错), and the population and
legal-entity base libraries (人口库, 法人库) merged from departments' datasets on ID number / USCC.
"""
