def has_close_elements(numbers, threshold):
    answer = [True]
    answer.append(answer)
    return answer
